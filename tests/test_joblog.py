"""abagen_core.workflow.joblog: a job's messages go to its log file and stderr."""

from __future__ import annotations

import logging

import pytest

from abagen_core.workflow.joblog import setup_logging


@pytest.fixture
def restore_logger():
    logger = logging.getLogger("abagen_core")
    saved = (list(logger.handlers), logger.level)
    yield logger
    for handler in list(logger.handlers):
        handler.close()
        logger.removeHandler(handler)
    for handler in saved[0]:
        logger.addHandler(handler)
    logger.setLevel(saved[1])


def test_messages_go_to_the_log_file_and_stderr(tmp_path, capsys, restore_logger):
    log = tmp_path / "logs" / "rule" / "x.log"
    logger = setup_logging(str(log))
    assert logger is restore_logger
    logging.getLogger("abagen_core.stages").info("hello %d", 3)
    logging.getLogger("abagen_core").debug("not shown")
    for handler in logger.handlers:
        handler.flush()
    text = log.read_text()
    assert "INFO hello 3" in text and "not shown" not in text
    assert "INFO hello 3" in capsys.readouterr().err


def test_setup_replaces_handlers_and_truncates(tmp_path, capsys, restore_logger):
    log = tmp_path / "x.log"
    log.write_text("old run\n")
    setup_logging(str(log))
    logger = setup_logging(str(log), level=logging.DEBUG)
    assert len(logger.handlers) == 2  # stderr and the file, not doubled
    logger.debug("debug line")
    for handler in logger.handlers:
        handler.flush()
    assert "old run" not in log.read_text()
    assert log.read_text().count("DEBUG debug line") == 1


def test_without_a_file_only_stderr(capsys, restore_logger):
    logger = setup_logging(None, level=logging.WARNING)
    assert len(logger.handlers) == 1
    logger.warning("careful")
    assert "WARNING careful" in capsys.readouterr().err
