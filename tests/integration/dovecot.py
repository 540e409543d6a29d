"""A real Dovecot IMAP server for the mail-connector tests, started on loopback with its own config.

Everything lives in one folder (config, passwd-file, maildirs, TLS key and a self-signed certificate
for 127.0.0.1): no system configuration is read or changed. Every Dovecot process runs as the user
running the tests (virtual users are mapped to that uid, login processes are not chrooted), so it
needs no root. Clients verify the server against the generated certificate (``ca_file``).
"""

from __future__ import annotations

import grp
import imaplib
import os
import pwd
import socket
import ssl
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from tests.services import free_port

DOVECOT = Path("/usr/sbin/dovecot")


def make_certificate(folder: Path) -> tuple[Path, Path]:
    """A throw-away self-signed certificate for 127.0.0.1 / localhost (openssl CLI)."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
         "-days", "2", "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
        check=True, capture_output=True)
    key.chmod(0o600)
    return cert, key


@dataclass
class Dovecot:
    root: Path
    imap_port: int
    imaps_port: int
    ca_file: Path
    process: subprocess.Popen[bytes]

    def add_user(self, name: str, password: str) -> None:
        """Add a virtual user to the passwd-file; do it before the first login (Dovecot caches the file)."""
        with open(self.root / "passwd", "a", encoding="utf-8") as handle:
            handle.write(f"{name}:{{PLAIN}}{password}::::::\n")

    def client(self, user: str, password: str) -> imaplib.IMAP4_SSL:
        context = ssl.create_default_context(cafile=str(self.ca_file))
        conn = imaplib.IMAP4_SSL("127.0.0.1", self.imaps_port, ssl_context=context, timeout=10)
        conn.login(user, password)
        return conn

    def append(self, user: str, password: str, raw: bytes, folder: str = "INBOX") -> None:
        """Deliver a message the way a mail client files one: IMAP APPEND."""
        conn = self.client(user, password)
        try:
            typ, data = conn.append(folder, "", imaplib.Time2Internaldate(time.time()), raw)
            assert typ == "OK", data
        finally:
            conn.logout()

    def folder_uids(self, user: str, password: str, folder: str = "INBOX",
                    criteria: str = "ALL") -> list[bytes]:
        conn = self.client(user, password)
        try:
            typ, _ = conn.select(f'"{folder}"', readonly=True)
            if typ != "OK":
                return []
            typ, data = conn.uid("SEARCH", criteria)
            assert typ == "OK", data
            return list(data[0].split()) if data and data[0] else []
        finally:
            conn.logout()

    def log(self) -> str:
        path = self.root / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        subprocess.run([str(DOVECOT), "-c", str(self.root / "dovecot.conf"), "stop"], capture_output=True,
                       timeout=20)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


def _accounts() -> tuple[str, str, str, int, int]:
    """(internal user, its group, login user, mail uid, mail gid): ourselves, or Dovecot's own users as root.

    Dovecot refuses to run login processes as root, so a root test run maps the virtual users to the
    unprivileged ``dovecot`` account and runs the login processes as ``dovenull`` (Debian's package
    creates both).
    """
    if os.getuid() != 0:
        me = pwd.getpwuid(os.getuid())
        return me.pw_name, grp.getgrgid(os.getgid()).gr_name, me.pw_name, me.pw_uid, me.pw_gid
    internal, login = pwd.getpwnam("dovecot"), pwd.getpwnam("dovenull")
    return internal.pw_name, grp.getgrgid(internal.pw_gid).gr_name, login.pw_name, internal.pw_uid, \
        internal.pw_gid


def server_folder(tmp_path: Path) -> Path:
    """Where the server keeps its files: in ``tmp_path``, except as root, where Dovecot's unprivileged
    processes could not reach pytest's private (0700) folders: then a fresh folder in the system temp dir."""
    if os.getuid() != 0:
        return tmp_path / "dovecot"
    return Path(tempfile.mkdtemp(prefix="einvoice-dovecot-"))


def start_dovecot(root: Path) -> Dovecot:
    """Write a private config into ``root`` and start Dovecot in the foreground (as our child)."""
    if not DOVECOT.exists():
        raise RuntimeError("Dovecot is not installed (Debian package dovecot-imapd)")
    root.mkdir(parents=True, exist_ok=True)
    root.chmod(0o755)
    cert, key = make_certificate(root)
    user, group, login_user, uid, gid = _accounts()
    imap_port, imaps_port = free_port(), free_port()
    (root / "passwd").write_text("", encoding="utf-8")
    (root / "passwd").chmod(0o644)  # test-only passwords; the auth process may run unprivileged
    for sub in ("run", "state", "home"):
        (root / sub).mkdir(exist_ok=True)
    os.chown(root / "home", uid, gid)
    config = f"""
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
info_log_path = {root}/dovecot.log
default_internal_user = {user}
default_internal_group = {group}
default_login_user = {login_user}
first_valid_uid = {uid}
first_valid_gid = {gid}
ssl = yes
ssl_cert = <{cert}
ssl_key = <{key}
ssl_min_protocol = TLSv1.2
disable_plaintext_auth = yes
auth_mechanisms = plain
mail_location = maildir:~/Maildir
mail_uid = {uid}
mail_gid = {gid}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/home/%u
}}
namespace inbox {{
  inbox = yes
  separator = /
}}
service imap-login {{
  chroot =
  user = {login_user}
  inet_listener imap {{
    address = 127.0.0.1
    port = {imap_port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {imaps_port}
    ssl = yes
  }}
}}
service auth {{
  user = {user}
  unix_listener auth-userdb {{
    user = {user}
  }}
}}
service auth-worker {{
  user = {user}
}}
service anvil {{
  chroot =
}}
service imap-hibernate {{
  chroot =
}}
service stats {{
  chroot =
}}
service doveadm {{
  chroot =
}}
service pop3-login {{
  chroot =
}}
service submission-login {{
  chroot =
}}
service managesieve-login {{
  chroot =
}}
service lmtp {{
  chroot =
}}
service imap-urlauth-login {{
  chroot =
}}
service director {{
  chroot =
}}
"""
    conf = root / "dovecot.conf"
    conf.write_text(config, encoding="utf-8")
    process = subprocess.Popen([str(DOVECOT), "-F", "-c", str(conf)], stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)
    server = Dovecot(root, imap_port, imaps_port, cert, process)
    deadline = time.monotonic() + 20
    while True:
        if process.poll() is not None:
            err = process.stderr.read().decode(errors="replace") if process.stderr else ""
            raise RuntimeError(f"dovecot exited ({process.returncode}): {err}\n{server.log()}")
        try:
            with socket.create_connection(("127.0.0.1", imaps_port), timeout=0.5), \
                    socket.create_connection(("127.0.0.1", imap_port), timeout=0.5):
                break
        except OSError:
            if time.monotonic() > deadline:
                server.stop()
                raise RuntimeError(f"dovecot did not listen on {imaps_port}:\n{server.log()}") from None
            time.sleep(0.1)
    return server


__all__ = ["Dovecot", "start_dovecot"]
