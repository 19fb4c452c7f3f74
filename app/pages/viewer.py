"""Live output viewer: `/executions/<id>` (a task run) and `/commands/<id>` (a command).

The page shows the last TAIL lines and the run's header; earlier ranges load on demand
(`/lines?before_seq=N`), so a 200,000-line log opens as fast as a short one. It opens the pages
socket with `after_seq` = the last line it shows: the socket sends stored lines after that seq
and then live ones, each exactly once (app.realtime.pages_socket). `output.txt` streams the
whole log for download and for "Copy all". Access is the REST API's (who may see the task or
the command); a viewer without the `execute` permission gets no buttons.
"""

from __future__ import annotations

import uuid
from urllib.parse import urlencode

from flask import Response, abort, request, stream_with_context

from app.pages import bp
from app.pages.auth import login_required, page_user
from app.pages.htmx import render
from app.pages.output_view import fragment, run_view, tail
from app.realtime.streams import check_access
from app.services.output_pages import iter_all

RUN_PAGE = "pages/viewer/run.html"


def socket_url(run: dict, after_seq: int) -> str:
    """The pages socket for this run: its output after `after_seq`, its task, system notices."""
    topics = [f"{run['owner_type']}:{run['id']}"]
    if run.get("task"):
        topics.append(f"task:{run['task']['id']}")
    topics.append("system")
    return "/ws/pages?" + urlencode({"topics": ",".join(topics), "after_seq": after_seq},
                                    safe=",:")


def run_page(owner_type: str, owner_id: uuid.UUID):
    run = run_view(owner_type, owner_id, page_user())
    out = tail(owner_type, owner_id, last_seq=run["output_lines"] or 0)
    return render(RUN_PAGE, run=run, out=out, socket_url=socket_url(run, out["last_seq"]))


def earlier_lines(owner_type: str, owner_id: uuid.UUID):
    """The TAIL lines before `before_seq`, with the next "load earlier" button above them."""
    check_access(owner_type, owner_id, page_user())
    raw = request.args.get("before_seq", "")
    if not raw.isdigit() or not 0 < int(raw) < 2**31:
        abort(400, "before_seq must be a positive whole number")
    page = tail(owner_type, owner_id, int(raw))
    run = {"id": str(owner_id), "lines_url": f"/{owner_type}s/{owner_id}/lines"}
    return fragment("partials/output/_earlier_response.html", run=run, lines=page["lines"],
                    has_earlier=page["has_earlier"], first_seq=page["first_seq"])


def download(owner_type: str, owner_id: uuid.UUID) -> Response:
    """Every line as plain text (raw, ANSI codes kept), streamed a page at a time."""
    check_access(owner_type, owner_id, page_user())

    def lines():
        for line in iter_all(owner_type, owner_id):
            content = line["content"]
            yield content if content.endswith("\n") else content + "\n"

    resp = Response(stream_with_context(lines()), mimetype="text/plain; charset=utf-8")
    resp.headers["Content-Disposition"] = f'attachment; filename="{owner_type}-{owner_id}.log"'
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.get("/executions/<uuid:execution_id>")
@login_required("read")
def execution_page(execution_id: uuid.UUID):
    return run_page("execution", execution_id)


@bp.get("/executions/<uuid:execution_id>/lines")
@login_required("read")
def execution_lines(execution_id: uuid.UUID):
    return earlier_lines("execution", execution_id)


@bp.get("/executions/<uuid:execution_id>/output.txt")
@login_required("read")
def execution_download(execution_id: uuid.UUID):
    return download("execution", execution_id)


@bp.get("/commands/<uuid:command_id>")
@login_required("read")
def command_page(command_id: uuid.UUID):
    return run_page("command", command_id)


@bp.get("/commands/<uuid:command_id>/lines")
@login_required("read")
def command_lines(command_id: uuid.UUID):
    return earlier_lines("command", command_id)


@bp.get("/commands/<uuid:command_id>/output.txt")
@login_required("read")
def command_download(command_id: uuid.UUID):
    return download("command", command_id)
