"""The sandboxed SQLite child that verdicts use to see how a learner's schema behaves."""

import pytest

from autograde import sqlite_sandbox
from autograde.sqlite_sandbox import SQLiteSandboxError, run_sql


def test_statements_run_in_order_on_the_schema_and_each_error_is_its_own():
    answer = run_sql(["CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT NOT NULL)"],
                     [("INSERT INTO t VALUES (?, ?)", [1, "a"]), ("INSERT INTO t VALUES (?, ?)", [1, "b"]),
                      ("INSERT INTO t VALUES (?, ?)", [2, None]), ("SELECT k, v FROM t", [])])
    assert answer["schema"] == [{"rows": [], "columns": []}]
    first, duplicate, missing, select = answer["statements"]
    assert "error" not in first
    assert (duplicate["error"], missing["error"]) == ("IntegrityError", "IntegrityError")
    assert select == {"rows": [[1, "a"]], "columns": ["k", "v"]}


def test_attach_pragma_and_endless_statements_are_refused_by_sqlite():
    answer = run_sql(["CREATE TABLE t (x)"], [("ATTACH '/tmp/leak.db' AS leak", []), ("PRAGMA table_info(t)", []),
                                              ("WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c) "
                                               "SELECT max(n) FROM c", [])])
    assert [result.get("error") for result in answer["statements"]] == ["DatabaseError", "DatabaseError",
                                                                        "OperationalError"]


def test_a_child_that_does_not_answer_is_an_error_never_an_empty_pass(monkeypatch):
    monkeypatch.setattr(sqlite_sandbox, "_CHILD", "import sys; sys.stdout.write('{}')")
    with pytest.raises(SQLiteSandboxError, match="incomplete"):
        run_sql(["CREATE TABLE t (x)"], [])
    monkeypatch.setattr(sqlite_sandbox, "_CHILD", "import os; os.abort()")
    with pytest.raises(SQLiteSandboxError, match="stopped SQLite"):
        run_sql(["CREATE TABLE t (x)"], [])
