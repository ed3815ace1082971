"""The groupware's config files, from the templates (one per file, strict undefined)."""

from __future__ import annotations

from pathlib import Path

from pemx.adapters.groupware.config import INSTANCES, GroupwareConfig
from pemx.adapters.mail.jinja import config_environment

__all__ = ["AUTHENTICATION_FILTERS", "instance_files", "stack_files"]

_env = config_environment("pemx.adapters.groupware", "templates")

#: Who may log in to each instance (SOGo's authenticationFilter on sogo_users): the web
#: instance admits owa = 1 only; ActiveSync is gated by ModulesConstraints in both. A
#: resource (c_kind 'location' or 'thing': a room, equipment) never logs in.
AUTHENTICATION_FILTERS = {
    "web": "active = '1' AND enable_owa = '1' AND c_kind = ''",
    "sync": "active = '1' AND c_kind = ''",
}
PURPOSES = {"web": "browsers: webmail, owa = 1 only", "sync": "ActiveSync, CalDAV, CardDAV"}


def instance_files(cfg: GroupwareConfig, name: str) -> dict[Path, str]:
    """One sogod instance's files: its defaults (sogod.plist) and the GNUstep.conf that
    points GNUstep there (GNUstep ignores $HOME: GNUSTEP_CONFIG_FILE names this file)."""
    base = cfg.instance_dir(name)
    plist = _env.get_template("sogod.plist.j2").render(
        cfg=cfg,
        name=name,
        purpose=PURPOSES[name],
        port=cfg.port_of(name),
        imap_port=cfg.imap_port_of(name),
        authentication_filter=AUTHENTICATION_FILTERS[name],
        log_file=cfg.log_dir / f"sogo-{name}.log",
        pid_file=cfg.run_dir / f"sogo-{name}.pid",
        spool_dir=cfg.spool_dir(name),
        memcached_socket=cfg.memcached_socket(name),
    )
    gnustep = _env.get_template("GNUstep.conf.j2").render(defaults_dir=base / "Defaults")
    return {base / "Defaults" / "sogod.plist": plist, base / "GNUstep.conf": gnustep}


def nginx_file(cfg: GroupwareConfig) -> str:
    return _env.get_template("nginx.conf.j2").render(cfg=cfg)


def stack_files(cfg: GroupwareConfig) -> dict[Path, str]:
    """Every file of the stack: both instances' and the front end's (a system one's also
    the systemd units that run each sogod and memcached instance)."""
    files: dict[Path, str] = {}
    for name in INSTANCES:
        files.update(instance_files(cfg, name))
    if not cfg.system:
        files[cfg.work_dir / "nginx" / "nginx.conf"] = nginx_file(cfg)
        return files
    files[cfg.work_dir / "nginx" / "pemx-sogo.conf"] = nginx_file(cfg)
    for unit in ("pemx-sogo@.service", "pemx-sogo-memcached@.service"):
        files[cfg.work_dir / "systemd" / unit] = _env.get_template(unit + ".j2").render(cfg=cfg)
    return files
