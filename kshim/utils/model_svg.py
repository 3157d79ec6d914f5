"""kshim's built-in drawing of a model's layer graph as SVG, so `plot_model(model, to_file="model.svg")` needs neither
pydot nor Graphviz.

A plain layered layout: each box goes to the rank one below its deepest predecessor, boxes within a rank are
ordered by a few barycenter sweeps (fewer crossings), ranks are stacked top to bottom (``rankdir="TB"``) or left to
right ("LR"; "BT" and "RL" mirror them). Edges are curves with arrow heads; nested models drawn expanded get a
dashed frame with their name."""

from xml.sax.saxutils import escape

FONT = "Helvetica, Arial, sans-serif"
FONT_SIZE = 12
CHAR_WIDTH = 7.0  # a generous average advance for FONT at FONT_SIZE, so text stays inside its box
LINE_HEIGHT = 17
PAD = 8
GAP_IN_RANK = 36
GAP_BETWEEN_RANKS = 56
MARGIN = 24


def _ranks(keys, edges):
    """The longest-path rank of each key (sources at 0), in a DAG."""
    succs = {k: [] for k in keys}
    waiting = {k: 0 for k in keys}
    for s, t in edges:
        succs[s].append(t)
        waiting[t] += 1
    ready = [k for k in keys if waiting[k] == 0]
    rank = {k: 0 for k in keys}
    while ready:
        k = ready.pop(0)
        for t in succs[k]:
            rank[t] = max(rank[t], rank[k] + 1)
            waiting[t] -= 1
            if waiting[t] == 0:
                ready.append(t)
    return rank


def _with_dummies(keys, edges, rank):
    """Splits each edge that skips ranks with one thin dummy box per rank it crosses, so that the ordering keeps
    it clear of the boxes there. Returns the keys with dummies, each edge's chain of keys, and neighbour maps."""
    keys, chains = list(keys), []
    for n, (s, t) in enumerate(edges):
        chain = [s]
        for r in range(rank[s] + 1, rank[t]):
            dummy = ("edge", n, r)
            rank[dummy] = r
            keys.append(dummy)
            chain.append(dummy)
        chains.append(chain + [t])
    preds = {k: [] for k in keys}
    succs = {k: [] for k in keys}
    for chain in chains:
        for a, b in zip(chain, chain[1:]):
            preds[b].append(a)
            succs[a].append(b)
    return keys, chains, preds, succs


def _order(keys, rank, preds, succs, sweeps=4):
    """Boxes per rank, reordered by the mean position of their neighbours in the previous (then next) rank."""
    layers = {}
    for k in keys:
        layers.setdefault(rank[k], []).append(k)
    levels = [layers[r] for r in sorted(layers)]
    for sweep in range(sweeps):
        down = sweep % 2 == 0
        sequence = range(1, len(levels)) if down else range(len(levels) - 2, -1, -1)
        for i in sequence:
            neighbour_pos = {k: j for j, k in enumerate(levels[i - 1 if down else i + 1])}
            links = preds if down else succs

            def center(item, i=i):
                j, k = item
                near = [neighbour_pos[n] for n in links[k] if n in neighbour_pos]
                return (sum(near) / len(near) if near else j, j)
            levels[i] = [k for _, k in sorted(enumerate(levels[i]), key=center)]
    return levels


def _size(box):
    texts = [box.title] + list(box.lines)
    width = max(len(t) for t in texts) * CHAR_WIDTH + 2 * PAD
    height = len(texts) * LINE_HEIGHT + 2 * PAD + (4 if box.lines else 0)
    return max(width, 60.0), float(height)


def _place(levels, sizes, horizontal):
    """Top-left corners: ranks stacked along the main axis, each rank centred across it."""
    along = lambda k: sizes[k][0] if horizontal else sizes[k][1]  # noqa: E731  (extent along the rank axis)
    across = lambda k: sizes[k][1] if horizontal else sizes[k][0]  # noqa: E731
    spans = [sum(across(k) for k in level) + GAP_IN_RANK * (len(level) - 1) for level in levels]
    widest = max(spans)
    pos, main = {}, MARGIN
    for level, span in zip(levels, spans):
        thickness = max(along(k) for k in level)
        cross = MARGIN + (widest - span) / 2
        for k in level:
            if isinstance(k, tuple):  # an edge's dummy: as thick as its rank, so the edge runs straight through
                sizes[k] = (thickness, sizes[k][1]) if horizontal else (sizes[k][0], thickness)
            offset = main + (thickness - along(k)) / 2
            pos[k] = (offset, cross) if horizontal else (cross, offset)
            cross += across(k) + GAP_IN_RANK
        main += thickness + GAP_BETWEEN_RANKS
    return pos


def _mirror(pos, sizes, rankdir):
    if rankdir not in ("BT", "RL"):
        return pos
    axis = 1 if rankdir == "BT" else 0
    far = max(p[axis] + sizes[k][axis] for k, p in pos.items()) + MARGIN
    out = {}
    for k, (x, y) in pos.items():
        out[k] = (x, far - y - sizes[k][1]) if axis == 1 else (far - x - sizes[k][0], y)
    return out


def _port(key, pos, sizes, rankdir, leaving):
    """Where an edge leaves (or enters) a box: the middle of the side facing the next (previous) rank."""
    (x, y), (w, h) = pos[key], sizes[key]
    forward = leaving == (rankdir in ("TB", "LR"))
    if rankdir in ("TB", "BT"):
        return x + w / 2, (y + h if forward else y)
    return (x + w if forward else x), y + h / 2


def _edge_path(chain, pos, sizes, rankdir):
    """A curve from box to box through the dummies of the ranks it crosses (straight through each dummy)."""
    vertical = rankdir in ("TB", "BT")
    x, y = _port(chain[0], pos, sizes, rankdir, leaving=True)
    parts = [f"M{x:.1f},{y:.1f}"]
    for i, key in enumerate(chain[1:], 1):
        x2, y2 = _port(key, pos, sizes, rankdir, leaving=False)
        if vertical:
            bend = (y2 - y) / 2
            parts.append(f"C{x:.1f},{y + bend:.1f} {x2:.1f},{y2 - bend:.1f} {x2:.1f},{y2:.1f}")
        else:
            bend = (x2 - x) / 2
            parts.append(f"C{x + bend:.1f},{y:.1f} {x2 - bend:.1f},{y2:.1f} {x2:.1f},{y2:.1f}")
        x, y = x2, y2
        if i < len(chain) - 1:
            x, y = _port(key, pos, sizes, rankdir, leaving=True)
            parts.append(f"L{x:.1f},{y:.1f}")
    return " ".join(parts)


def _frames(graph, pos, sizes):
    """A dashed frame per nested model, around its boxes; outer frames leave room for the inner ones."""
    out = []
    deepest = max((len(p) for p in graph.cluster_names), default=0)
    for path, name in sorted(graph.cluster_names.items(), key=lambda item: len(item[0])):
        members = [b.key for b in graph.boxes if b.clusters[:len(path)] == path]
        if not members:
            continue
        pad = 10 + 10 * (deepest - len(path))
        x0 = min(pos[k][0] for k in members) - pad
        y0 = min(pos[k][1] for k in members) - pad - LINE_HEIGHT
        x1 = max(pos[k][0] + sizes[k][0] for k in members) + pad
        y1 = max(pos[k][1] + sizes[k][1] for k in members) + pad
        out.append((name, x0, y0, x1, y1))
    return out


def to_svg(graph, rankdir="TB"):
    """The SVG text of a `LayerGraph` (see `kshim.utils.model_visualization.layer_graph`)."""
    keys = [b.key for b in graph.boxes]
    boxes = {b.key: b for b in graph.boxes}
    sizes = {k: _size(boxes[k]) for k in keys}
    rank = _ranks(keys, graph.edges)
    all_keys, chains, preds, succs = _with_dummies(keys, graph.edges, rank)
    sizes.update({k: (8.0, 8.0) for k in all_keys if k not in sizes})
    levels = _order(all_keys, rank, preds, succs)
    pos = _mirror(_place(levels, sizes, rankdir in ("LR", "RL")), sizes, rankdir)
    frames = _frames(graph, pos, sizes)
    # shift everything so frames (which reach outside the boxes) stay on the canvas
    min_x = min([p[0] for p in pos.values()] + [f[1] for f in frames]) - MARGIN
    min_y = min([p[1] for p in pos.values()] + [f[2] for f in frames]) - MARGIN
    pos = {k: (x - min_x, y - min_y) for k, (x, y) in pos.items()}
    frames = [(n, x0 - min_x, y0 - min_y, x1 - min_x, y1 - min_y) for n, x0, y0, x1, y1 in frames]
    width = max([pos[k][0] + sizes[k][0] for k in keys] + [f[3] for f in frames]) + MARGIN
    height = max([pos[k][1] + sizes[k][1] for k in keys] + [f[4] for f in frames]) + MARGIN

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
           f'viewBox="0 0 {width:.0f} {height:.0f}" font-family="{FONT}" font-size="{FONT_SIZE}">',
           '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" '
           'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#444"/></marker></defs>',
           f'<rect width="{width:.0f}" height="{height:.0f}" fill="white"/>']
    for name, x0, y0, x1, y1 in frames:
        out.append(f'<g class="cluster"><rect x="{x0:.1f}" y="{y0:.1f}" width="{x1 - x0:.1f}" '
                   f'height="{y1 - y0:.1f}" rx="6" fill="none" stroke="#888" stroke-dasharray="6,4"/>'
                   f'<text x="{x0 + 8:.1f}" y="{y0 + LINE_HEIGHT - 3:.1f}" fill="#555">{escape(name)}</text></g>')
    for (source, target), chain in zip(graph.edges, chains):
        out.append(f'<path class="edge" data-source="{escape(source)}" data-target="{escape(target)}" '
                   f'd="{_edge_path(chain, pos, sizes, rankdir)}" fill="none" stroke="#444" '
                   'stroke-width="1.3" marker-end="url(#arrow)"/>')
    for k in keys:
        (x, y), (w, h), box = pos[k], sizes[k], boxes[k]
        out.append(f'<g class="layer" data-key="{escape(k)}">')
        out.append(f'<rect class="layer-box" x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" rx="4" '
                   'fill="#fff4e0" stroke="#333"/>')
        out.append(f'<text x="{x + w / 2:.1f}" y="{y + PAD + FONT_SIZE:.1f}" text-anchor="middle" '
                   f'font-weight="bold">{escape(box.title)}</text>')
        if box.lines:
            rule = y + PAD + LINE_HEIGHT + 2
            out.append(f'<line x1="{x:.1f}" y1="{rule:.1f}" x2="{x + w:.1f}" y2="{rule:.1f}" stroke="#bbb"/>')
        for i, line in enumerate(box.lines):
            out.append(f'<text x="{x + PAD:.1f}" y="{y + PAD + FONT_SIZE + (i + 1) * LINE_HEIGHT + 4:.1f}">'
                       f"{escape(line)}</text>")
        out.append("</g>")
    out.append("</svg>")
    return "\n".join(out) + "\n"
