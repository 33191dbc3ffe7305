"""The embedded database commits durably: a webhook answered 2xx survives a power loss."""


from hub.extensions import db


def test_sqlite_connections_flush_the_wal_at_every_commit(make_app, tmp_path):
    app = make_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'durable.db'}"}, entry_points=False)
    with app.app_context():
        with db.engine.connect() as connection:
            settings = {name: connection.exec_driver_sql(f"PRAGMA {name}").scalar()
                        for name in ("journal_mode", "synchronous", "foreign_keys")}
    # synchronous: 2 is FULL (NORMAL, 1, may lose the last commits of a WAL database on power loss)
    assert settings == {"journal_mode": "wal", "synchronous": 2, "foreign_keys": 1}
