"""The Jinja2 settings every generated mail config file is rendered with."""

from __future__ import annotations

import jinja2

__all__ = ["config_environment"]


def config_environment(package: str, folder: str) -> jinja2.Environment:
    """An environment over the templates in ``folder`` of ``package`` (package data).

    Config files, not HTML: no autoescape. A missing value fails (StrictUndefined)
    instead of leaving a blank in a config; block tags take their line with them.
    """
    return jinja2.Environment(
        loader=jinja2.PackageLoader(package, folder),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
