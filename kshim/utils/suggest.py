"""'Did you mean' suggestions for unknown names."""

import difflib


def unknown_name_error(kind, value, known, arg="identifier"):
    """A ValueError for an unknown registry name, suggesting the closest known names."""
    known = sorted(set(known))
    close = difflib.get_close_matches(str(value).lower(), [k.lower() for k in known], n=3, cutoff=0.6)
    lower_to_name = {k.lower(): k for k in known}
    hint = ""
    close = list(dict.fromkeys(close))  # names that differ only by case suggest once
    if close:
        hint = " Did you mean " + " or ".join(repr(lower_to_name[c]) for c in close) + "?"
    return ValueError(f"Unknown {kind}: {arg}={value!r}.{hint} Known names: {', '.join(known)}.")
