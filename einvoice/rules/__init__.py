"""Rule packs: upstream validation artefacts installed at run time, never shipped with the code."""

from einvoice.rules.store import InstalledPack, RulePackError, RuleStore, content_hash

__all__ = ["InstalledPack", "RulePackError", "RuleStore", "content_hash", "install"]


def __getattr__(name: str) -> object:
    # install pulls in the build machinery (Saxon, the compiler); load it only when asked for.
    if name == "install":
        from einvoice.rules.install import install

        return install
    raise AttributeError(name)
