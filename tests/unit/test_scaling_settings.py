"""The settings that let several workers share one host and one cluster."""

from __future__ import annotations

from pathlib import Path

from newswatch.core.settings import Settings


def test_defaults_give_eight_partitions_and_a_single_copy() -> None:
    settings = Settings()
    assert settings.topic_partitions == 8
    assert (settings.topic_replication_factor, settings.topic_min_insync_replicas) == (1, 0)


def test_each_web_port_gets_its_own_faust_folder(tmp_path: Path) -> None:
    first = Settings(data_dir=tmp_path, worker_web_port=6066).worker_data_dir
    second = Settings(data_dir=tmp_path, worker_web_port=6067).worker_data_dir
    assert first != second and first.parent == second.parent == tmp_path


def test_the_worker_options_win_over_the_environment(monkeypatch, tmp_path: Path) -> None:
    """Settings are read once from the environment; an option is laid on top, the environment never rewritten."""
    import os

    from newswatch import cli
    from newswatch.core.settings import get_settings

    monkeypatch.setenv("NEWSWATCH_WORKER_WEB_PORT", "6066")
    monkeypatch.setenv("NEWSWATCH_DATA_DIR", str(tmp_path))  # monkeypatch restores both afterwards
    get_settings.cache_clear()
    try:
        settings = cli._settings(worker_web_port=7001, data_dir=None)
        assert settings.worker_data_dir == tmp_path / "worker-7001"
        assert os.environ["NEWSWATCH_WORKER_WEB_PORT"] == "6066"
    finally:
        get_settings.cache_clear()


def test_the_local_broker_paths_are_absolute_whatever_the_working_directory(tmp_path: Path, monkeypatch) -> None:
    """Maven resolves a relative output folder against its pom's folder: the jars once landed beside the pom."""
    from newswatch.local.kafka import LocalKafka

    monkeypatch.chdir(tmp_path)
    kafka = LocalKafka.for_settings(Settings())
    assert kafka.home == tmp_path / ".cache" / "kafka" and kafka.libs == tmp_path / ".cache" / "kafka" / "libs"
    assert Settings().data_dir == tmp_path / ".cache" / "faust"
