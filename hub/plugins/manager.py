"""Plugin discovery and dispatch: one ``PluginRegistry`` per app, kept in ``app.extensions``.

Plugins come in through the entry-point group ``ats_hub`` (the bundled Lever, Canditech and Vervoe
plugins too) and, in tests, through ``EXTRA_PLUGINS``. With an allow-list (``HUB_PLUGINS``), an
entry point whose name is not on it is never imported. Start-up fails on a plugin that fails to
import, a duplicate plugin name (two different objects; the very same module found twice, say
through an entry point and ``HUB_EXTRA_PLUGIN_MODULES``, loads once), a hook implementation that
matches no specification (named after the plugin, with the closest hook names) or names an
argument its hook does not have (``context`` for ``ctx``: the message names the plugin, the hook,
the argument and the hook's arguments, where pluggy's ``PluginValidationError`` named the object),
or a plugin that does not register its ``IntegrationSpec`` exactly once. A function named like a hook but without
``@hookimpl`` is logged as a warning (for ``register_integration``, the start-up error says so).

The hub never calls ``pm.hook.<name>(...)`` for all plugins: pluggy stops at the first raising
implementation (pluggy#419). ``call`` runs one named plugin's implementation on its own.
"""

from __future__ import annotations

import difflib
import inspect
import logging
import os
import sys
import time
from importlib import metadata
from typing import Any, Iterable

import pluggy

from hub import hookspecs
from hub.entities import IntegrationSpec

log = logging.getLogger("hub.plugins")

ENTRY_POINT_GROUP = hookspecs.PROJECT_NAME


class PluginLoadError(RuntimeError):
    """A plugin cannot be loaded; the message names it and says why."""


class NotImplementedByPlugin(LookupError):
    pass


class PluginRegistry:
    def __init__(self, pm: pluggy.PluginManager, versions: dict[str, str], trace: bool = False):
        self.pm = pm
        self.versions = versions
        self.trace = trace
        self.specs: dict[str, IntegrationSpec] = {}

    # ---------------------------------------------------------------- introspection
    def names(self) -> list[str]:
        return sorted(self.specs)

    def spec(self, name: str) -> IntegrationSpec:
        try:
            return self.specs[name]
        except KeyError:
            raise NotImplementedByPlugin(f"no plugin named {name!r} is installed") from None

    def title(self, name: str) -> str:
        """The plugin's title for people ("Canditech"); its name when it is not installed."""
        spec = self.specs.get(name)
        return spec.title if spec is not None else name

    def hooks_of(self, name: str) -> list[str]:
        plugin = self.pm.get_plugin(name)
        if plugin is None:
            return []
        return sorted(caller.name for caller in self.pm.get_hookcallers(plugin) or [])

    def implements(self, name: str, hook: str) -> bool:
        return self._impl(name, hook) is not None

    def subscribers(self, hook: str) -> list[str]:
        """Names of the plugins implementing ``hook``, in a stable order."""
        caller = getattr(self.pm.hook, hook)
        return sorted({impl.plugin_name for impl in caller.get_hookimpls()})

    def of_kind(self, kind: str) -> list[str]:
        return [name for name in self.names() if self.specs[name].kind == kind]

    # ---------------------------------------------------------------- dispatch
    def _impl(self, name: str, hook: str):
        caller = getattr(self.pm.hook, hook, None)
        if caller is None:
            raise AttributeError(f"no hook named {hook!r}")
        for impl in caller.get_hookimpls():
            if impl.plugin_name == name:
                return impl
        return None

    def call(self, name: str, hook: str, **kwargs: Any) -> Any:
        """Call plugin ``name``'s implementation of ``hook`` with the arguments it accepts."""
        impl = self._impl(name, hook)
        if impl is None:
            raise NotImplementedByPlugin(f"plugin {name!r} does not implement {hook}")
        args = [kwargs[arg] for arg in impl.argnames]
        if not self.trace:
            return impl.function(*args)
        started = time.perf_counter()
        log.info("hook call %s.%s(%s)", name, hook, ", ".join(impl.argnames))
        try:
            result = impl.function(*args)
        except Exception as exc:
            log.info("hook %s.%s raised %s after %.1f ms", name, hook, type(exc).__name__,
                     (time.perf_counter() - started) * 1000)
            raise
        log.info("hook %s.%s returned after %.1f ms", name, hook, (time.perf_counter() - started) * 1000)
        return result


RESERVED_NAMES = frozenset({"hub"})  # the source name of the events the hub emits itself (hub.engine.ingest)


def build_registry(
    allow: Iterable[str] | None = None,
    extra_plugins: Iterable[tuple[str, Any] | tuple[str, Any, str]] = (),
    trace: bool = False,
    use_entry_points: bool = True,
) -> PluginRegistry:
    """Discover, register and validate plugins; raise ``PluginLoadError`` on any problem.

    ``extra_plugins`` are ``(name, plugin)`` pairs, or ``(name, plugin, origin)`` triples whose
    ``origin`` says where the plugin was given (e.g. ``"HUB_EXTRA_PLUGIN_MODULES"``) in messages."""
    pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    pm.add_hookspecs(hookspecs)
    allowed = set(allow) if allow else None
    versions: dict[str, str] = {}
    origins: dict[str, str] = {}

    def add(name: str, plugin: Any, version: str, origin: str) -> None:
        if allowed is not None and name not in allowed:
            return
        if name in RESERVED_NAMES:
            raise PluginLoadError(f"a plugin may not be named {name!r}: the name is reserved for the events the hub "
                                  "emits itself (its invitation events would pass for the hub's own)")
        if pm.get_plugin(name) is not None or name in versions:
            if pm.get_plugin(name) is plugin and plugin is not None:
                # The same module found twice (an installed entry point and a leftover *.egg-info in
                # the current directory, or the entry point and HUB_EXTRA_PLUGIN_MODULES): one plugin.
                log.debug("plugin %r is %s and also %s: loaded once", name, origins[name], origin)
                return
            raise PluginLoadError(f"two plugins are named {name!r}; plugin names must be unique: one is "
                                  f"{origins[name]} ({_where(pm.get_plugin(name))}), the other {origin} "
                                  f"({_where(plugin)})")
        try:
            pm.register(plugin, name=name)
        except pluggy.PluginValidationError as exc:  # pluggy's text is several lines naming the object
            raise PluginLoadError(_validation_message(pm, name, plugin, exc)) from exc
        except ValueError as exc:
            raise PluginLoadError(f"plugin {name!r} cannot be registered: {exc}") from exc
        versions[name] = version
        origins[name] = origin

    if use_entry_points:
        for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
            if allowed is not None and ep.name not in allowed:
                continue  # not imported at all: a broken plugin left out of the allow-list cannot stop start-up
            try:
                plugin = ep.load()
            except Exception as exc:  # a broken third-party plugin must say who it is
                raise PluginLoadError(f"plugin {ep.name!r} ({ep.value}) failed to import: {exc}") from exc
            version = ep.dist.version if ep.dist is not None else ""
            add(ep.name, plugin, version, _entry_point_origin(ep))
    for name, plugin, *origin in extra_plugins:
        add(name, plugin, getattr(plugin, "__version__", ""),
            origin[0] if origin else "given directly (EXTRA_PLUGINS)")
    _check_unknown_hooks(pm)
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:  # pragma: no cover - _check_unknown_hooks found it first
        raise PluginLoadError(f"unknown hook implementation: {exc}") from exc
    for name in versions:
        for hook in _undecorated_hooks(pm, name):
            if hook != "register_integration":  # that one stops start-up in _collect_spec, with the same hint
                log.warning("plugin %r has a function named %r, a hub hook, without @hookimpl: the hub does not "
                            "call it (decorate it with @hookimpl, from hub import hookimpl)", name, hook)

    registry = PluginRegistry(pm, versions, trace=trace)
    for name in list(versions):
        registry.specs[name] = _collect_spec(registry, name)
    return registry


def _entry_point_origin(ep: metadata.EntryPoint) -> str:
    """"entry point 'acme' = ats_hub_acme of ats-hub-acme 0.1.0 (/path/to/ats_hub_acme-0.1.0.dist-info)"."""
    dist = ep.dist
    if dist is None:
        return f"entry point {ep.name!r} = {ep.value}"
    # Its metadata directory (".../site-packages/ats_hub_acme-0.1.0.dist-info", or a leftover
    # "./ats_hub_acme.egg-info" in the current directory): the one public way, locate_file, gives
    # only the directory holding it.
    path = getattr(dist, "_path", None)
    try:
        location = f" ({os.path.abspath(path if path is not None else dist.locate_file(''))})"
    except Exception:  # a distribution that is not on a path: its name is enough
        location = ""
    return f"entry point {ep.name!r} = {ep.value} of {dist.name} {dist.version}{location}"


def _where(plugin: Any) -> str:
    """The module a plugin is, or its class is defined in, and that module's file."""
    module = plugin if inspect.ismodule(plugin) else sys.modules.get(getattr(type(plugin), "__module__", ""))
    if module is None:
        return repr(plugin)
    what = (f"module {module.__name__}" if module is plugin
            else f"{type(plugin).__qualname__} of module {module.__name__}")
    path = getattr(module, "__file__", None)
    return f"{what} from {path}" if path else what


def _validation_message(pm: pluggy.PluginManager, name: str, plugin: Any, exc: pluggy.PluginValidationError) -> str:
    """pluggy's ``PluginValidationError`` in one sentence: for each hook implementation with an
    argument its hook does not have ("acme: list_assessments(context) names an argument the hook
    does not have (context); its arguments are (ctx)"); pluggy's own text in one line otherwise."""
    problems = []
    for attribute in sorted(dir(plugin)):
        try:
            options = pm.parse_hookimpl_opts(plugin, attribute)
        except Exception:  # pluggy skips what it cannot read; so does this
            continue
        if options is None:
            continue
        hook = options.get("specname") or attribute
        caller = getattr(pm.hook, hook, None)
        if caller is None or caller.spec is None:
            continue  # an unknown hook: _check_unknown_hooks names it
        impl = pluggy.HookImpl(plugin, name, getattr(plugin, attribute), options)
        spec_args = list(caller.spec.argnames) + list(caller.spec.kwargnames)
        # as pluggy checks: an argument with a default (``verbose=False``) is the plugin's own, never passed
        unknown = [arg for arg in impl.argnames if arg not in spec_args]
        if unknown:
            problems.append(
                f"{hook}({', '.join(impl.argnames + impl.kwargnames)}) names "
                + (f"an argument the hook does not have ({unknown[0]})" if len(unknown) == 1
                   else f"arguments the hook does not have ({', '.join(unknown)})")
                + f"; its arguments are ({', '.join(spec_args)})")
    if problems:
        return (f"plugin {name!r}: " + "; ".join(problems) + ". Name each argument exactly as its hook does, "
                "or leave it out (the hooks' arguments: hub/hookspecs.py, docs/plugin-guide.md)")
    said = "; ".join(line.strip() for line in str(exc).splitlines() if line.strip())
    return f"plugin {name!r} cannot be registered: {said}"


def _hub_hooks(pm: pluggy.PluginManager) -> list[str]:
    return sorted(name for name, caller in vars(pm.hook).items()
                  if not name.startswith("_") and caller.has_spec())


def _check_unknown_hooks(pm: pluggy.PluginManager) -> None:
    """pluggy's ``check_pending`` names the plugin object (``<module 'ats_hub_acme' from ...>``)
    and stops at the first: name each plugin by its name, and suggest the hook it was meant to be."""
    hooks = _hub_hooks(pm)
    problems = []
    for hook_name, caller in sorted(vars(pm.hook).items()):
        if hook_name.startswith("_") or caller.has_spec():
            continue
        for impl in caller.get_hookimpls():
            if impl.optionalhook:
                continue
            close = _closest(hook_name, hooks)
            hint = f" (did you mean {' or '.join(map(repr, close))}?)" if close else ""
            problems.append(f"plugin {impl.plugin_name!r} implements {hook_name!r}, which is not a hub hook{hint}")
    if problems:
        raise PluginLoadError("unknown hook implementation: " + "; ".join(problems) +
                              "; the hub's hooks are those of the module hub.hookspecs")


def _closest(word: str, candidates: list[str]) -> list[str]:
    """The candidates closest to ``word`` (difflib), the best first, leaving out those clearly
    further than the best ("source_get_candidates": "source_get_candidate", not "source_list_stages")."""
    scored = sorted(((difflib.SequenceMatcher(None, word, c).ratio(), c) for c in candidates), reverse=True)
    if not scored or scored[0][0] < 0.6:
        return []
    return [c for ratio, c in scored[:3] if ratio >= max(0.6, scored[0][0] - 0.15)]


def _undecorated_hooks(pm: pluggy.PluginManager, name: str) -> list[str]:
    """Hooks plugin ``name`` has a function for, named like the hook, that is not a hook implementation
    (a missing ``@hookimpl``): pluggy silently skips such a function."""
    plugin = pm.get_plugin(name)
    implemented = {caller.name for caller in pm.get_hookcallers(plugin) or []}
    found = []
    for hook in _hub_hooks(pm):
        if hook in implemented:
            continue
        try:
            attribute = inspect.getattr_static(plugin, hook)
        except AttributeError:
            continue
        if isinstance(attribute, (staticmethod, classmethod)):
            attribute = attribute.__func__
        if inspect.isroutine(attribute) and pm.parse_hookimpl_opts(plugin, hook) is None:
            found.append(hook)
    return found


def _check_settings(name: str, spec: IntegrationSpec) -> None:
    """The settings schema is a marshmallow ``Schema`` class and every secret field is one of its
    fields: a misspelt secret field would be stored in clear and shown back."""
    import marshmallow

    schema = spec.settings_schema
    if schema is None:
        if spec.secret_fields:
            raise PluginLoadError(f"plugin {name!r} names secret_fields {list(spec.secret_fields)} without a "
                                  "settings_schema")
        return
    if not (isinstance(schema, type) and issubclass(schema, marshmallow.Schema)):
        raise PluginLoadError(f"plugin {name!r}: settings_schema must be a marshmallow Schema class, not "
                              f"{schema!r}")
    if isinstance(spec.secret_fields, str):
        raise PluginLoadError(f"plugin {name!r}: secret_fields must be a tuple of field names, not the string "
                              f"{spec.secret_fields!r}")
    unknown = sorted(set(spec.secret_fields) - set(schema().fields))
    if unknown:
        raise PluginLoadError(f"plugin {name!r}: secret_fields {unknown} are not fields of its settings_schema "
                              f"({sorted(schema().fields)})")


def _collect_spec(registry: PluginRegistry, name: str) -> IntegrationSpec:
    registered: list[IntegrationSpec] = []

    def register(spec: IntegrationSpec) -> None:
        if not isinstance(spec, IntegrationSpec):
            raise PluginLoadError(f"plugin {name!r} registered {spec!r}, not an IntegrationSpec")
        registered.append(spec)

    if not registry.implements(name, "register_integration"):
        hint = ""
        if "register_integration" in _undecorated_hooks(registry.pm, name):
            hint = (": its register_integration lacks the @hookimpl decorator (from hub import hookimpl), "
                    "so the hub does not see it")
        raise PluginLoadError(f"plugin {name!r} does not implement register_integration{hint}")
    try:
        registry.call(name, "register_integration", register=register)
    except PluginLoadError:
        raise
    except Exception as exc:  # a bad IntegrationSpec (its kind...) or a bug: name the plugin
        raise PluginLoadError(f"plugin {name!r} failed in register_integration: {type(exc).__name__}: {exc}") from exc
    if len(registered) != 1:
        raise PluginLoadError(f"plugin {name!r} must call register() exactly once, not {len(registered)} times")
    spec = registered[0]
    _check_settings(name, spec)
    if not spec.version and registry.versions.get(name):
        spec = IntegrationSpec(**{**spec.__dict__, "version": registry.versions[name]})
    return spec
