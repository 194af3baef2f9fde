from sharelog.cli.main import run

run()
