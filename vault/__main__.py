from vault.cli import app

app(prog_name="vault")
