"""Reports of user-model checks (`kshim.conformance.agreement.CheckResult`): a readable table and JUnit XML."""

import xml.etree.ElementTree as ET

from kshim.conformance.agreement import tolerance_text

COLUMNS = ("compared", "layer / weights", "max abs diff", "max rel diff", "tolerance", "verdict")


def _num(v):
    if v != v:  # NaN
        return "nan"
    return "0" if v == 0 else f"{v:.2e}"


def groups(result):
    """The report's rows as ``(title, detail, [KeyResult])``: initial weights together, one row per layer output,
    the gradients together, and one row per training step."""
    out, by_title = [], {}
    for k in result.keys:
        if k.kind == "forward":
            title, detail = "forward", k.key + (f" ({k.layer_class})" if k.layer_class else "")
        elif k.kind == "training":
            title, detail = f"training step {k.step}", None
        else:
            title, detail = {"initial": "initial weights", "gradients": "loss gradients"}[k.kind], None
        ident = (title, detail)
        if ident not in by_title:
            by_title[ident] = []
            out.append((title, detail, by_title[ident]))
        by_title[ident].append(k)
    rows = []
    for title, detail, keys in out:
        if detail is None:
            bad = [k for k in keys if not k.ok]
            worst = bad[0] if bad else max(keys, key=lambda k: k.max_abs)
            detail = f"{len(keys)} arrays" + (f", first bad: {worst.key}" if bad else "")
        rows.append((title, detail, keys))
    return rows


def format_text(result):
    """The table, the first divergence and the verdict, as the CLI prints them."""
    head = [f"kshim backend agreement: {result.name}",
            f"backends: {' vs '.join(result.backends)}; seed {result.seed}; {result.steps} training steps; "
            + "; ".join(f"{b} {s:.1f}s" for b, s in result.seconds.items())]
    table = []
    for title, detail, keys in groups(result):
        ok = all(k.ok for k in keys)
        table.append((title, detail[:60], _num(max(k.max_abs for k in keys)), _num(max(k.max_rel for k in keys)),
                      tolerance_text(result.tolerances[keys[0].kind]), "PASS" if ok else "FAIL"))
    widths = [max([len(h)] + [len(r[i]) for r in table]) for i, h in enumerate(COLUMNS)]

    def line(cells):
        return "  ".join(c.rjust(w) if i in (2, 3) else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths)))

    body = [line(COLUMNS), line(["-" * w for w in widths])] + [line(r) for r in table] if table else []
    tail = [""]
    first = result.first_divergence
    if first is not None:
        tail.append(f"First divergence: {first.describe()}: max abs diff {_num(first.max_abs)}, max rel diff "
                    f"{_num(first.max_rel)} (tolerance {tolerance_text(result.tolerances[first.kind])})")
        if first.message:
            tail.append(f"    {first.message}")
    for b, e in result.errors.items():
        tail.append(f"ERROR on {b}: {e}")
    tail += [f"PROBLEM: {p}" for p in result.problems]
    tail.append("RESULT: backends agree" if result.ok else "RESULT: backends DISAGREE" if not result.errors
                else "RESULT: the check could not run")
    return "\n".join(head + [""] + body + tail).rstrip() + "\n"


def junit_xml(results):
    """JUnit XML for a list of `CheckResult`: one test suite per model, one test case per row of the table."""
    root = ET.Element("testsuites")
    total = failures = errors = 0
    for result in results:
        rows = groups(result)
        suite = ET.SubElement(root, "testsuite", {"name": f"kshim-backend-agreement:{result.name}"})
        n_fail = n_err = 0
        props = ET.SubElement(suite, "properties")
        for name, value in (("backends", ",".join(result.backends)), ("seed", str(result.seed)),
                            ("steps", str(result.steps))):
            ET.SubElement(props, "property", {"name": name, "value": value})
        if result.errors or result.problems:
            tc = ET.SubElement(suite, "testcase", {"classname": result.name, "name": "run"})
            tag = "error" if result.errors else "failure"
            text = "\n".join([f"{b}: {e}" for b, e in result.errors.items()] + result.problems)
            ET.SubElement(tc, tag, {"message": text[:500], "type": "BackendAgreement"}).text = text
            n_err += bool(result.errors)
            n_fail += not result.errors
        for title, detail, keys in rows:
            name = f"{title}: {keys[0].key}" if title == "forward" else title
            tc = ET.SubElement(suite, "testcase", {"classname": result.name, "name": name})
            bad = [k for k in keys if not k.ok]
            if bad:
                n_fail += 1
                msg = (f"{bad[0].describe()}: max abs diff {_num(bad[0].max_abs)}, max rel diff "
                       f"{_num(bad[0].max_rel)} (tolerance {tolerance_text(result.tolerances[bad[0].kind])})")
                failure = ET.SubElement(tc, "failure", {"message": msg[:500], "type": "BackendDisagreement"})
                failure.text = "\n".join(f"{k.describe()}: {k.message}" for k in bad[:50])
            ET.SubElement(tc, "system-out").text = "\n".join(
                f"{k.key}{'' if k.step is None else f' (step {k.step})'}: max abs {_num(k.max_abs)}, "
                f"max rel {_num(k.max_rel)}" for k in keys[:200])
        suite.set("tests", str(len(suite.findall("testcase"))))
        suite.set("failures", str(n_fail))
        suite.set("errors", str(n_err))
        total += len(suite.findall("testcase"))
        failures += n_fail
        errors += n_err
    root.set("tests", str(total))
    root.set("failures", str(failures))
    root.set("errors", str(errors))
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"
