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


def resolve_object(kind, identifier, by_name):
    """The object a registry ``get`` returns: None stays None; a name or a ``{"class_name", "config"}`` dict
    becomes an instance of the registered class; any other callable is returned as is."""
    if identifier is None:
        return None
    if isinstance(identifier, dict):
        cls = by_name.get(identifier.get("class_name"))
        if cls is None:
            raise unknown_name_error(kind, identifier.get("class_name"), list(by_name), arg="class_name")
        return cls.from_config(identifier.get("config", {}))
    if isinstance(identifier, str):
        cls = by_name.get(identifier)
        if cls is None:
            raise unknown_name_error(kind, identifier, list(by_name), arg=kind)
        return cls()
    if callable(identifier):
        return identifier
    raise ValueError(f"Could not interpret {kind} identifier: {kind}={identifier!r}")
