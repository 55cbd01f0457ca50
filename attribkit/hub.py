"""Whether a model name can be loaded: from a local directory, the Hugging Face cache or the hub.

Without network, ``from_pretrained("org/name")`` retries for about a minute
before it fails. :func:`check_loadable` answers within a few seconds, so a
backend's ``load`` (torch or tf) can fail at once with a clear message, or
read a cached model without touching the network. ``huggingface_hub`` is
imported inside the functions: the core does not depend on it.
"""
from __future__ import annotations

import os
import threading
from typing import Any, Callable, Dict, List, Sequence, Tuple

from attribkit.errors import AttribkitError, BackendUnavailable, InputError

#: Seconds the hub has to answer the probe (DNS look-up included).
PROBE_TIMEOUT_S = 3.0
#: The file whose presence in the local cache means the model was downloaded.
CONFIG_FILE = "config.json"
#: Characters of a loader's error kept in the one-line message (transformers lists every architecture it knows).
MESSAGE_LIMIT = 400
_TRUE = ("1", "on", "yes", "true")


def unreachable_message(name_or_path: str) -> str:
    """The one-line message for a name that is not a directory while the hub cannot be reached."""
    return (f"could not load {name_or_path!r}: it is not a local directory and the Hugging Face hub cannot be "
            "reached; network access or a local path is needed")


def check_loadable(name_or_path: str, timeout: float = PROBE_TIMEOUT_S) -> bool:
    """Fail at once if ``name_or_path`` cannot be loaded; else say whether to read it from local files only.

    ``name_or_path`` can be loaded when it is a local directory, when the
    model is in the local Hugging Face cache (its ``config.json``), or when the
    hub (``huggingface_hub.constants.ENDPOINT``, so ``HF_ENDPOINT``) answers
    within ``timeout`` seconds. With ``HF_HUB_OFFLINE=1`` (or
    ``TRANSFORMERS_OFFLINE=1``) the hub is not asked.

    Args:
        name_or_path: a local directory or a hub name such as ``"org/model"``.
        timeout: seconds the hub has to answer.
    Returns:
        ``True`` when the model must be read from local files (a directory,
        or a cached model while the hub is offline or unreachable): pass
        ``local_files_only=True`` to ``from_pretrained`` so it does not spend
        a minute retrying the network. ``False`` when the hub answers.
    Raises:
        InputError: ``name_or_path`` is neither a directory nor a valid hub
            name, or it is not cached and the hub is offline or unreachable.
    """
    if os.path.isdir(name_or_path):
        return True
    try:
        import huggingface_hub
        from huggingface_hub import constants
        from huggingface_hub.utils import HFValidationError, validate_repo_id
    except ImportError:  # the backend's own loader will report what is missing
        return False
    try:
        validate_repo_id(name_or_path)
    except HFValidationError:
        raise InputError(f"could not load {name_or_path!r}: it is neither a local directory nor a Hugging Face "
                         "hub name such as 'org/model'") from None
    cached = isinstance(huggingface_hub.try_to_load_from_cache(name_or_path, CONFIG_FILE), str)
    if not offline(constants) and probe(constants.ENDPOINT, timeout):
        return False
    if cached:
        return True
    raise InputError(unreachable_message(name_or_path))


def offline(constants: object = None) -> bool:
    """Whether the user switched the hub off (``HF_HUB_OFFLINE`` or ``TRANSFORMERS_OFFLINE``)."""
    if getattr(constants, "HF_HUB_OFFLINE", False):
        return True
    return any(os.environ.get(name, "").strip().lower() in _TRUE for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))


def probe(endpoint: str, timeout: float) -> bool:
    """Whether ``endpoint`` answers an HTTP ``HEAD`` within ``timeout`` seconds (any status counts).

    Honours the ``HTTP(S)_PROXY`` and ``NO_PROXY`` variables. The request runs
    in a daemon thread so that a hanging DNS look-up cannot outlast ``timeout``.
    """
    import urllib.error
    import urllib.request

    answers: List[bool] = []

    def ask() -> None:
        try:
            with urllib.request.urlopen(urllib.request.Request(endpoint, method="HEAD"), timeout=timeout):
                answers.append(True)
        except urllib.error.HTTPError:  # the hub answered, if only with an error status
            answers.append(True)
        except (OSError, ValueError):  # no route, no DNS, refused, timed out, malformed endpoint
            answers.append(False)

    thread = threading.Thread(target=ask, name="attribkit-hub-probe", daemon=True)
    thread.start()
    thread.join(timeout)
    return bool(answers and answers[0])


#: ``load`` options that also apply to the tokenizer.
HUB_OPTIONS = ("cache_dir", "local_files_only", "revision", "token")


def load_pretrained(load: Callable[[str, Dict[str, Any]], Tuple[Any, Any]], name_or_path: str,
                    kwargs: Dict[str, Any], what: str = "a sequence classifier") -> Tuple[Any, Any]:
    """``(model, tokenizer)`` of a Hugging Face name or local folder, the way every backend loads.

    :func:`check_loadable` first (an unreachable hub fails in seconds, before
    the backend imports anything; a cached model is read without the
    network), then the backend's ``load(name_or_path, kwargs)``. Load errors
    become one-line :class:`InputError` s.
    """
    kwargs = dict(kwargs)
    if check_loadable(name_or_path):
        kwargs.setdefault("local_files_only", True)
    if os.path.isdir(name_or_path) and not os.path.isfile(os.path.join(name_or_path, CONFIG_FILE)):
        raise InputError(f"could not load {what} from {name_or_path!r}: the directory has no {CONFIG_FILE}; pass "
                         f"the directory save_pretrained wrote ({CONFIG_FILE}, the weights and the tokenizer's files)")
    try:
        return load(name_or_path, kwargs)
    except AttribkitError:
        raise
    except Exception as exc:  # a library's failure on files it cannot read (an empty config, no tokenizer files)
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        if not isinstance(exc, (OSError, ValueError, TypeError)) or not message:
            message = f"{type(exc).__name__}: {message}".rstrip(": ")
        if len(message) > MESSAGE_LIMIT:
            message = message[:MESSAGE_LIMIT] + "..."
        raise InputError(f"could not load {what} from {name_or_path!r}: {message}") from exc


def switched_off(framework: str, variables: Sequence[str], other: str) -> BackendUnavailable:
    """The error for a backend whose framework transformers leaves out in this process: it reads
    ``variables`` from the environment once, when it is first imported; ``other`` names another backend to use."""
    settings = ", ".join(f"{name}={os.environ[name]}" for name in variables if name in os.environ)
    return BackendUnavailable(
        f"transformers has {framework} switched off in this process ({settings or 'transformers cannot use it'}), "
        f"so it cannot load a {framework} model; unset {' and '.join(variables)} before transformers is first "
        f"imported (in a notebook, restart the kernel), or use {other}")


def hub_options(kwargs: Dict[str, Any]) -> Dict[str, Any]:
    """The options of ``kwargs`` that apply to the tokenizer too (:data:`HUB_OPTIONS`)."""
    return {key: value for key, value in kwargs.items() if key in HUB_OPTIONS}


def has_safetensors(name_or_path: str) -> bool:
    """A local folder with ``*.safetensors`` weights."""
    return os.path.isdir(name_or_path) and any(name.endswith(".safetensors") for name in os.listdir(name_or_path))
