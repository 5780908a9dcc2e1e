"""The `hotline` command."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from api.logging import configure_logging
from cli import bpmn, tasks
from cli.embedded.process import EmbeddedServiceError, port_is_free
from cli.replay import replay_app
from cli.runtime import Runtime
from core.errors import HotlineError
from core.i18n import translate
from core.settings import Settings

app = typer.Typer(help="Hotline 1022 Đồng Nai: the Government–Citizen communication platform.",
                  no_args_is_help=True, add_completion=False)
console = Console(stderr=True)

DataDir = Annotated[Path | None, typer.Option("--data-dir", help="Data directory (default: HOTLINE_DATA_DIR or the user data dir)")]
Port = Annotated[int, typer.Option("--port", min=1, max=65535, help="HTTP port")]
Host = Annotated[str, typer.Option("--host", help="HTTP address to listen on")]


def fail(message: str, code: int = 1) -> NoReturn:
    console.print(f"[bold red]Error:[/] {message}")
    raise typer.Exit(code)


def load_settings(data_dir: Path | None = None, **overrides: object) -> Settings:
    if data_dir is not None:
        os.environ["HOTLINE_DATA_DIR"] = str(data_dir.expanduser().resolve())
    try:
        settings = Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        fail("invalid configuration: " + "; ".join(e["msg"].removeprefix("Value error, ") for e in exc.errors()), 2)
    configure_logging(settings.log_level, settings.log_json)
    return settings


def _progress() -> Progress:
    return Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(), console=console)


def _sigterm_as_interrupt() -> None:
    def handler(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)


def _exit_now(code: int = 0) -> NoReturn:
    """Leave without running interpreter finalizers: Temporal's client threads can crash
    at interpreter exit (sdk-python #300). Everything we own is already stopped."""
    sys.stdout.flush()
    sys.stderr.flush()
    logging.shutdown()
    os._exit(code)


def _user_error(exc: HotlineError) -> str:
    details = exc.details if isinstance(exc.details, list) else []
    parts = [translate(d.get("message", ""), "en") for d in details if isinstance(d, dict)]
    return translate(exc.message, "en", **exc.params) + (" " + " ".join(parts) if parts else "")


def _serve(settings: Settings, host: str, port: int, with_worker: bool) -> None:
    import uvicorn

    from cli.asgi import create_full_app

    application = create_full_app(settings, with_worker=with_worker)
    config = uvicorn.Config(application, host=host, port=port, log_config=None, access_log=False,
                            lifespan="on", timeout_graceful_shutdown=10)
    asyncio.run(uvicorn.Server(config).serve())


def _run_until_stopped(settings: Settings, body: Callable[[], object]) -> NoReturn:
    """Run a long-lived command with the services it needs until Ctrl-C or SIGTERM."""
    _sigterm_as_interrupt()
    code = 0
    with Runtime(settings) as runtime:
        try:
            runtime.start_all()
            body()
        except KeyboardInterrupt:
            pass
        except EmbeddedServiceError as exc:
            console.print(f"[bold red]Error:[/] {exc}")
            code = 1
    _exit_now(code)


@app.command()
def up(port: Port = 8000, host: Host = "127.0.0.1", data_dir: DataDir = None,
       no_demo: Annotated[bool, typer.Option("--no-demo", help="Do not seed demo units and users")] = False) -> None:
    """Start everything: database, Temporal, migrations, demo data, worker, API and web UI."""
    settings = load_settings(data_dir, host=host, port=port)
    if not port_is_free(host, port):
        fail(f"port {port} on {host} is already in use. Stop the other program or choose another with --port.")
    _sigterm_as_interrupt()
    runtime = Runtime(settings)
    code = 0
    try:
        with _progress() as progress:
            boot = progress.add_task("Starting PostgreSQL and Temporal", total=1)
            runtime.start_all()
            progress.advance(boot)
            step = progress.add_task("Migrating the database", total=1)
            tasks.migrate(settings.database_url)  # type: ignore[arg-type]
            bpmn.deploy_bundled(settings.database_url)  # type: ignore[arg-type]
            progress.advance(step)
            seed_task = progress.add_task("Seeding reference data", total=None)

            def on_progress(what: str, done: int, total: int) -> None:
                progress.update(seed_task, description=f"Seeding {what}", completed=done, total=total)

            demo_users = tasks.seed(settings.database_url, settings.area_scheme.value, settings.province_code,  # type: ignore[arg-type]
                                    demo=not no_demo and not settings.is_production, progress=on_progress)
            if not no_demo and not settings.is_production:  # the demo knowledge base (the worker indexes it)
                from cli import kb

                procedures = kb.read_procedures()
                kb_task = progress.add_task("Importing the demo procedures", total=len(procedures))
                kb.import_file(settings.database_url, procedures,  # type: ignore[arg-type]
                               lambda done, total: progress.update(kb_task, completed=done))
        runtime.publish()
        url = f"http://{host}:{port}"
        console.print(f"\n[bold green]Hotline 1022 is starting at {url}[/]  (API docs: {url}/docs, readiness: {url}/readyz)")
        if runtime.temporal_ui:
            console.print(f"Temporal UI: {runtime.temporal_ui}")
        if demo_users:
            from core.services.seed import DEMO_PASSWORD

            console.print(f"Demo accounts (password [bold]{DEMO_PASSWORD}[/]): " + ", ".join(u.username for u in demo_users))
        console.print("Press Ctrl-C to stop.\n")
        _serve(settings, host, port, with_worker=True)
    except KeyboardInterrupt:
        console.print("Stopping…")
    except EmbeddedServiceError as exc:
        console.print(f"[bold red]Error:[/] {exc}")
        code = 1
    except HotlineError as exc:
        console.print(f"[bold red]Error:[/] {_user_error(exc)}")
        code = 1
    finally:
        runtime.close()
    _exit_now(code)


@app.command()
def api(port: Port = 8000, host: Host = "127.0.0.1", data_dir: DataDir = None) -> None:
    """Serve the API and web UI only (the worker runs elsewhere: `hotline worker`)."""
    settings = load_settings(data_dir, host=host, port=port)
    if not port_is_free(host, port):
        fail(f"port {port} on {host} is already in use. Stop the other program or choose another with --port.")
    _run_until_stopped(settings, lambda: _serve(settings, host, port, with_worker=False))


@app.command()
def worker(data_dir: DataDir = None) -> None:
    """Run the Temporal worker: every workflow and activity of the product."""
    settings = load_settings(data_dir)
    from temporalio.client import Client

    from cli.worker import run_worker
    from core.db import make_async_engine, make_sessionmaker
    from messaging import gateway_notifier

    async def main() -> None:
        try:
            client = await Client.connect(settings.temporal_address, namespace=settings.temporal_namespace)  # type: ignore[arg-type]
        except RuntimeError as exc:
            raise EmbeddedServiceError(f"cannot reach Temporal at {settings.temporal_address}: {exc}. "
                                       "Check HOTLINE_TEMPORAL_ADDRESS, or run `hotline up`.") from exc
        engine = make_async_engine(settings.database_url)  # type: ignore[arg-type]
        try:
            console.print(f"Worker polling task queue '{settings.task_queue}' on {settings.temporal_address}")
            sessions = make_sessionmaker(engine)
            await run_worker(client, settings, gateway_notifier(settings, sessions), sessions)
        finally:
            await engine.dispose()

    _run_until_stopped(settings, lambda: asyncio.run(main()))


@app.command()
def migrate(data_dir: DataDir = None) -> None:
    """Apply database migrations."""
    settings = load_settings(data_dir)
    try:
        with Runtime(settings) as runtime:
            url = runtime.database()
            tasks.migrate(url)
            deployed = bpmn.deploy_bundled(url)
    except (EmbeddedServiceError, ValueError) as exc:
        fail(str(exc))
    console.print("Database is up to date. BPMN: " + ", ".join(f"{name} {sha[:12]}{' (new)' if new else ''}"
                                                            for name, sha, new in deployed))


@app.command()
def seed(data_dir: DataDir = None,
         demo: Annotated[bool, typer.Option("--demo/--no-demo", help="Also demo units and users (empty database only)")] = False,
         scheme: Annotated[str, typer.Option(help="Area map: 2025 (province → commune) or legacy (3 levels)")] = "",
         province: Annotated[str, typer.Option(help="Province code (GSO), e.g. 75 for Đồng Nai")] = "") -> None:
    """Seed roles, menus, policies, areas and the default field catalogue (idempotent)."""
    settings = load_settings(data_dir)
    if demo and settings.is_production:
        fail("demo data is refused when HOTLINE_ENV=production")
    try:
        with Runtime(settings) as runtime, _progress() as progress:
            url = runtime.database()
            tasks.migrate(url)
            task = progress.add_task("Seeding", total=None)

            def on_progress(what: str, done: int, total: int) -> None:
                progress.update(task, description=f"Seeding {what}", completed=done, total=total)

            users = tasks.seed(url, scheme or settings.area_scheme.value, province or settings.province_code, demo,
                               progress=on_progress)
    except (EmbeddedServiceError, ValueError) as exc:
        fail(str(exc))
    console.print(f"Seeded reference data{f' and {len(users)} demo users' if users else ''}.")


@app.command("create-admin")
def create_admin(
    username: Annotated[str, typer.Option(prompt=True, help="Login name")],
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True, help="Password")],
    full_name: Annotated[str, typer.Option(help="Display name")] = "Quản trị hệ thống",
    data_dir: DataDir = None,
) -> None:
    """Create an administrator (or reset an existing one's password); works non-interactively."""
    settings = load_settings(data_dir)
    try:
        with Runtime(settings) as runtime:
            url = runtime.database()
            tasks.migrate(url)
            done = tasks.create_admin(url, username, password, full_name)
    except EmbeddedServiceError as exc:
        fail(str(exc))
    except HotlineError as exc:
        fail(_user_error(exc))
    except ValidationError as exc:
        fail("; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()))
    console.print(f"Administrator '{username}' {done}.")


app.add_typer(replay_app, name="replay")

kb_app = typer.Typer(help="The knowledge base of administrative procedures (KB-01…22).")
app.add_typer(kb_app, name="kb")
search_app = typer.Typer(help="The search index of the knowledge base.")
app.add_typer(search_app, name="search")


def _index_with_progress(settings: Settings, runtime: Runtime, mode: str, what: str) -> int:
    from cli import kb

    with _progress() as progress:
        task = progress.add_task(what, total=None)
        return kb.index(settings, runtime, mode, lambda done, total: progress.update(task, completed=done, total=total))


@kb_app.command("import")
def kb_import(file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True,
                                                   help="procedures exported from the national public-service portal "
                                                        "(JSON, or .json.gz)")],
              data_dir: DataDir = None) -> None:
    """Import procedures (idempotent: unchanged ones are left alone, changed ones updated), then index them."""
    from cli import kb

    settings = load_settings(data_dir)
    try:
        procedures = kb.read_procedures(file)
        with Runtime(settings) as runtime:
            url = runtime.database()
            tasks.migrate(url)
            with _progress() as progress:
                task = progress.add_task(f"Importing {file.name}", total=len(procedures))
                report = kb.import_file(url, procedures, lambda done, total: progress.update(task, completed=done))
            indexed = _index_with_progress(settings, runtime, "pending", "Indexing")
    except (kb.KbCommandError, EmbeddedServiceError, ValueError) as exc:
        fail(str(exc))
    console.print(f"{report.total} procedures: {report.created} new, {report.updated} updated, "
                  f"{report.unchanged} unchanged, {report.deleted_kept} deleted earlier (kept deleted); "
                  f"{indexed} indexed.")


@search_app.command("reindex")
def search_reindex(data_dir: DataDir = None) -> None:
    """Rebuild the knowledge base's search index from PostgreSQL."""
    from cli import kb

    settings = load_settings(data_dir)
    try:
        with Runtime(settings) as runtime:
            url = runtime.database()
            tasks.migrate(url)
            indexed = _index_with_progress(settings, runtime, "rebuild", "Rebuilding the search index")
    except (kb.KbCommandError, EmbeddedServiceError, ValueError) as exc:
        fail(str(exc))
    console.print(f"Search index rebuilt: {indexed} questions indexed.")


bpmn_app = typer.Typer(help="Validate and deploy BPMN diagrams (a diagram is code: it reaches production only this way).")
app.add_typer(bpmn_app, name="bpmn")
BpmnFile = Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="a .bpmn file")]
ProcessOpt = Annotated[str | None, typer.Option("--process", help="process id (default: the file name)")]


@bpmn_app.command("validate")
def bpmn_validate(file: BpmnFile, process: ProcessOpt = None) -> None:
    """Parse a diagram and check every operator, lane, form and expression."""
    found = bpmn.problems(file, process)
    if found:
        fail(f"{file.name} is not deployable:\n  - " + "\n  - ".join(found))
    console.print(f"{file.name}: OK (process {process or bpmn.process_id_of(file)})")


@bpmn_app.command("test")
def bpmn_test(file: BpmnFile, process: ProcessOpt = None) -> None:
    """Run the diagram's scenarios (`test_<diagram>.json` beside it): the path and the end data."""
    results = bpmn.run_scenarios(file, process)
    if not results:
        fail(f"{bpmn.scenario_file(file).name} not found: write the scenarios beside the diagram")
    for result in results:
        console.print(f"{'OK  ' if result.ok else 'FAIL'} {result.name}" + "".join(f"\n     - {p}" for p in result.problems))
    if not all(result.ok for result in results):
        raise typer.Exit(1)


@bpmn_app.command("deploy")
def bpmn_deploy(file: BpmnFile, process: ProcessOpt = None, data_dir: DataDir = None) -> None:
    """Validate, store (kept forever, pinned by sha256) and make it the version new tickets start on."""
    settings = load_settings(data_dir)
    try:
        with Runtime(settings) as runtime:
            url = runtime.database()
            tasks.migrate(url)
            sha, new = bpmn.deploy(url, file, "hotline bpmn deploy", process)
    except (EmbeddedServiceError, ValueError) as exc:
        fail(str(exc))
    console.print(f"{file.name} deployed as {sha}{'' if new else ' (already stored; now active)'}")


@app.command()
def doctor(data_dir: DataDir = None) -> None:
    """Check every component and say what is wrong and how to fix it."""
    settings = load_settings(data_dir)
    from temporalio.client import Client

    from api.readiness import all_components
    from core.db import make_async_engine

    with Runtime(settings) as runtime:
        problems: list[str] = []
        try:
            runtime.database()
        except EmbeddedServiceError as exc:
            problems.append(f"database: {exc}")
        try:
            runtime.temporal(ui=False)
        except EmbeddedServiceError as exc:
            problems.append(f"temporal: {exc}")

        async def check() -> list:  # type: ignore[type-arg]
            engine = make_async_engine(settings.database_url or "postgresql://invalid/none", pool_size=1, max_overflow=0)
            client = None
            if settings.temporal_address:
                try:
                    client = await Client.connect(settings.temporal_address, namespace=settings.temporal_namespace)
                except Exception:  # noqa: BLE001 - reported below
                    client = None
            try:
                return await all_components(engine, client, settings)
            finally:
                await engine.dispose()

        states = asyncio.run(check())
    bad = 0
    for state in states:
        mark = "[green]OK[/]" if state.ok else ("[red]FAIL[/]" if state.required else "[yellow]WARN[/]")
        console.print(f"{mark:>14}  {state.name:<9} {state.detail}")
        if state.fix and not state.ok:
            console.print(f"{'':>7}  fix: {state.fix}")
        bad += int(not state.ok and state.required)
    for problem in problems:
        console.print(f"[red]{problem}[/]")
    _exit_now(1 if bad else 0)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
