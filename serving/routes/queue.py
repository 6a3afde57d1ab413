"""The triage queue API: store tagged feedback, list it by priority, let people handle it.

``POST /v1/feedback``
    Tag and prioritize one text and store it. Idempotent on the client's ``id``: 201 when stored,
    200 with the stored item when the same id and text were posted before, 409 when the id is
    taken by another text, or the repeat names another channel, survey answer or received_at.
    The model runs only for a new id.
``GET /v1/feedback/{id}``
    One item (404 when unknown).
``GET /v1/queue``
    Items by priority level (P1 first), then ``respond_by``, then arrival; ``count`` is the total.
    Filters: ``status`` (repeatable; default open and in_progress), ``channel``, ``topic`` (the
    effective label of the model's ``topic`` task) and ``label=task:label`` (repeatable, any task);
    ``level`` (repeatable P1..P4), ``overdue=true`` (past respond_by and not resolved, the rule
    of each item's ``overdue`` flag), ``received_from`` and
    ``received_to`` (a half-open range of arrival times, with UTC offsets);
    ``limit`` (1..200, default 50) and ``offset`` page through it.
``PATCH /v1/feedback/{id}``
    ``status`` (open, in_progress, resolved; resolving sets ``answered_at``, reopening clears it)
    and/or ``corrections`` (task → label, or list for a
    multi-label task; null removes one), merged into the item and kept beside the model's labels.
    A correction re-computes the priority with the corrected labels taken as certain. Unknown
    tasks or labels are a 422 naming ``corrections.<task>``.
    ``If-Match`` with the item's ``ETag`` (its version, from ``GET``): a stale version is a 412;
    two concurrent writers of one version never both succeed. ``corrected_by`` is the API key's
    name when keys are asked for.
``DELETE /v1/feedback/{id}``
    Erases an item and its label rows (KVKK erasure; an ``admin`` key).

Times in the answers (``received_at``, ``priority.respond_by``, ``created_at``, …) are in the
priority policy's timezone, as on ``/v1/predict``; the database keeps them in UTC. A NUL
character or lone surrogate in any string (body, path, query) is a 422 naming the field
(:mod:`nabiz.serving.inputs`), on SQLite and PostgreSQL alike.

Scopes: ``queue:read`` for the ``GET`` routes, ``queue:write`` for ``POST`` and ``PATCH``,
``admin`` for ``DELETE`` (:mod:`nabiz.serving.auth`). Texts are masked (:mod:`nabiz.pii`)
before they are tagged or stored.

Include it with ``app.include_router(router)``: the router carries its ``/v1`` prefix. What the app
must put on ``app.state`` (``session_factory``, ``predictor``, ``policy``) is documented in
:mod:`nabiz.serving.queue.deps`.
"""

from __future__ import annotations

import re
from functools import partial
from typing import Annotated, Literal

from fastapi import APIRouter, Header, HTTPException, Path, Query, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from pydantic import AfterValidator
from sqlalchemy.orm import Session

from nabiz.model.schema import LabelSchema, TaskRole
from nabiz.serving.arrival import (
    TIME_BOUND_HELP,
    FutureArrivalError,
    TimeBound,
    in_zone,
    resolve_arrival,
)
from nabiz.serving.auth import AdminScope, QueueReadScope, QueueWriteScope
from nabiz.serving.deps import SettingsDep
from nabiz.serving.errors import invalid_input
from nabiz.serving.inputs import Storable, mask_off_loop
from nabiz.serving.priority import UnknownChannelError, normalize_channel
from nabiz.serving.queue import repository
from nabiz.serving.queue.deps import (
    AlertTriggerDep,
    AssessorDep,
    ClockSkewDep,
    PolicyDep,
    PredictorDep,
    ReprioritizerDep,
    SessionDep,
)
from nabiz.serving.queue.models import Status, utcnow
from nabiz.serving.queue.schemas import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    RAW_ID_MAX_LENGTH,
    FeedbackCreate,
    FeedbackPublic,
    FeedbackUpdate,
    QueuePage,
    nfc,
)
from nabiz.text import search_words

router = APIRouter(prefix="/v1", tags=["queue"])

FeedbackIdPath = Annotated[
    str, Path(min_length=1, max_length=RAW_ID_MAX_LENGTH), AfterValidator(nfc), Storable
]
MAX_OFFSET = 1_000_000_000  # beyond any queue; keeps the number inside every database's integer
NOT_FOUND = {404: {"description": "No feedback with this id."}}
WITH_ETAG = {
    "headers": {
        "ETag": {
            "description": 'The item\'s version ("3"): send it back in `If-Match` to change it.',
            "schema": {"type": "string"},
        }
    }
}
AUTH = {
    401: {"description": "No API key, or an unknown or revoked one."},
    403: {"description": "The API key lacks the scope this route needs."},
    503: {"description": "The queue database is unreachable; retry after `Retry-After` s."},
}


def etag(version: int) -> str:
    return f'"{version}"'


_ENTITY_TAG = re.compile(r'(W/)?"([\x21\x23-\x7e]*)"')  # RFC 9110 §8.8.3: opaque-tag


def parse_if_match(values: list[str]) -> tuple[str, ...] | None:
    """The strong entity tags of the ``If-Match`` header lines, in order (``None``: no header,
    or ``*``); a 412 if an element is no entity tag. RFC 9110 §13.1.1: the lines form one list,
    empty elements are ignored, and the comparison is strong: a weak tag (``W/"3"``) matches no
    version, and a tag is compared as the text it is (``"07"`` is not ``"7"``)."""
    if not values:
        return None
    elements = [part.strip() for value in values for part in value.split(",")]
    elements = [element for element in elements if element]
    if elements == ["*"]:
        return None
    tags = []
    for element in elements:
        match = _ENTITY_TAG.fullmatch(element)
        if match is None:
            raise HTTPException(
                status_code=status.HTTP_412_PRECONDITION_FAILED,
                detail=f'If-Match {element[:40]!r} is not an entity tag (ours look like "3")',
            )
        if not match[1]:  # a weak tag never passes If-Match
            tags.append(f'"{match[2]}"')
    return tuple(tags)


def expected_version(
    session: Session, feedback_id: str, tags: tuple[str, ...] | None
) -> int | None:
    """The version the update is made against (``None``: any), or a 412 when no listed tag is
    the item's current one. The UPDATE checks the version again, so a writer in between still
    gets its 412."""
    if tags is None:
        return None
    current = repository.get_feedback(session, feedback_id).version
    if etag(current) not in tags:
        listed = ", ".join(tags) if tags else "a weak or empty tag (If-Match matches neither)"
        raise HTTPException(
            status_code=status.HTTP_412_PRECONDITION_FAILED,
            detail=f"feedback {feedback_id!r} is at version {etag(current)}, not {listed}: read "
            "it again (GET gives its ETag), then send your change with If-Match",
        )
    return current


def check_label(
    schema: LabelSchema, task: str, value: str, loc: tuple[str | int, ...], raw: str
) -> None:
    """A 422 at ``loc`` unless the model has ``task`` and ``task`` has the label ``value``: a
    filter on a label the model never gives would match nothing, silently."""
    if task not in schema:
        raise invalid_input(
            loc, f"the model has no task {task!r}; its tasks are {schema.names}", raw
        )
    labels = schema.task(task).labels
    if value not in labels:
        raise invalid_input(
            loc, f"task {task!r} has no label {value!r}; its labels are {labels}", raw
        )


def _seen(session: Session, feedback_id: str) -> bool:
    try:
        return repository.find_feedback(session, feedback_id) is not None
    finally:
        session.rollback()  # hold no transaction (nor pooled connection) while the model runs


def _not_found(error: repository.FeedbackNotFoundError) -> HTTPException:
    return HTTPException(status_code=status.HTTP_404_NOT_FOUND, detail=str(error))


@router.post(
    "/feedback",
    response_model=FeedbackPublic,
    status_code=status.HTTP_201_CREATED,
    responses={
        200: {"description": "Already stored with this id and text: the stored item.", **WITH_ETAG},
        201: WITH_ETAG,
        409: {
            "description": "The id is taken by a different text, channel, survey answer or "
            "received_at."
        },
        429: {"description": "The inference queue is full; retry after `Retry-After` seconds."},
        **AUTH,
    },
)
async def create_feedback(
    body: FeedbackCreate,
    response: Response,
    _caller: QueueWriteScope,
    session: SessionDep,
    policy: PolicyDep,
    assess: AssessorDep,
    max_skew: ClockSkewDep,
    alerts: AlertTriggerDep,
    settings: SettingsDep,
) -> FeedbackPublic:
    """Tag, prioritize and store one feedback text.

    Personal data is masked before anything is stored or tagged: the stored `text` holds
    `[TCKN]`, `[IBAN]`, `[KART]`, `[HESAP]`, `[TELEFON]`, `[EPOSTA]` where the customer wrote
    them."""
    try:
        channel = normalize_channel(body.channel, policy)
    except UnknownChannelError as error:
        raise invalid_input(
            ("body", "channel"), str(error), body.channel, "unknown_channel"
        ) from None
    now = utcnow()
    try:
        arrival = resolve_arrival(body.received_at, zone=policy.zone, now=now, max_skew=max_skew)
    except FutureArrivalError as error:
        raise invalid_input(
            ("body", "received_at"), str(error), body.received_at, "future_received_at"
        ) from None
    received_at = arrival or now
    text = (await mask_off_loop([body.text], settings.mask_personal_data))[0].text

    # The model runs only for an id not seen before, and never inside a transaction.
    seen = await run_in_threadpool(_seen, session, body.id)
    assessment = None if seen else await assess(text, channel, received_at)
    try:
        row, created = await run_in_threadpool(
            partial(
                repository.create_or_get_feedback,
                session,
                feedback_id=body.id,
                text=text,
                channel=channel,
                received_at=received_at,
                assess=lambda: assessment,
                survey_kind=body.survey.kind if body.survey else None,
                survey_score=body.survey.score if body.survey else None,
                channel_given=body.channel is not None,
                received_at_given=arrival is not None,
                same_within=max_skew,  # a time clamped to the clock is the sent one, give or take
            )
        )
    except repository.FeedbackConflictError as error:
        raise HTTPException(status_code=status.HTTP_409_CONFLICT, detail=str(error)) from None
    if not created:
        response.status_code = status.HTTP_200_OK
    else:
        alerts(row.id, row.received_at)  # the alert rules look at it (in the background)
    response.headers["ETag"] = etag(row.version)
    return FeedbackPublic.from_row(row, zone=policy.zone)


@router.get(
    "/feedback/{feedback_id}",
    response_model=FeedbackPublic,
    responses={200: WITH_ETAG, **NOT_FOUND, **AUTH},
)
def read_feedback(
    feedback_id: FeedbackIdPath,
    session: SessionDep,
    policy: PolicyDep,
    response: Response,
    _caller: QueueReadScope,
) -> FeedbackPublic:
    """One stored feedback item; its `ETag` is the version to send back in `If-Match`."""
    try:
        row = repository.get_feedback(session, feedback_id)
    except repository.FeedbackNotFoundError as error:
        raise _not_found(error) from None
    response.headers["ETag"] = etag(row.version)
    return FeedbackPublic.from_row(row, zone=policy.zone)


@router.patch(
    "/feedback/{feedback_id}",
    response_model=FeedbackPublic,
    responses={
        200: WITH_ETAG,
        **NOT_FOUND,
        **AUTH,
        412: {"description": "If-Match names an older version: the item changed meanwhile."},
    },
)
def update_feedback(
    feedback_id: FeedbackIdPath,
    body: FeedbackUpdate,
    session: SessionDep,
    predictor: PredictorDep,
    policy: PolicyDep,
    reprioritize: ReprioritizerDep,
    response: Response,
    caller: QueueWriteScope,
    request: Request,
    if_match: Annotated[
        str | None,
        Header(
            max_length=1024,
            description="The item's ETag from GET (or a list of them): the change is refused "
            "(412) unless one is the item's current version. A weak tag (W/) never matches.",
        ),
    ] = None,
) -> FeedbackPublic:
    """Change an item's status and/or record a person's corrected labels.

    Who corrected comes from the API key's name; `corrected_by` in the body counts only when the
    server asks for no keys."""
    del if_match  # declared for the documentation; every line is read, as one list (§5.3)
    tags = parse_if_match(request.headers.getlist("if-match"))
    try:
        expected = expected_version(session, feedback_id, tags)
        row = repository.update_status_and_corrections(
            session,
            feedback_id,
            status=body.status,
            corrections=body.corrections,
            corrected_by=caller.name if caller is not None else body.corrected_by,
            schema=predictor.schema,
            reprioritize=reprioritize,
            expected_version=expected,
        )
    except repository.FeedbackNotFoundError as error:
        raise _not_found(error) from None
    except repository.VersionMismatchError as error:
        raise HTTPException(
            status_code=status.HTTP_412_PRECONDITION_FAILED, detail=str(error)
        ) from None
    except repository.InvalidCorrectionError as error:
        raise invalid_input(
            ("body", "corrections", error.task), error.message, error.value
        ) from None
    response.headers["ETag"] = etag(row.version)
    return FeedbackPublic.from_row(row, zone=policy.zone)


@router.delete(
    "/feedback/{feedback_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={**NOT_FOUND, **AUTH},
)
def delete_feedback(
    feedback_id: FeedbackIdPath, session: SessionDep, _caller: AdminScope
) -> Response:
    """Erase an item and everything stored about it (KVKK erasure); needs an `admin` key."""
    try:
        repository.delete_feedback(session, feedback_id)
    except repository.FeedbackNotFoundError as error:
        raise _not_found(error) from None
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/queue", response_model=QueuePage, responses=AUTH)
def read_queue(
    session: SessionDep,
    _caller: QueueReadScope,
    predictor: PredictorDep,
    policy: PolicyDep,
    status_: Annotated[
        list[Status] | None,
        Query(alias="status", description="Repeatable; default: open and in_progress."),
    ] = None,
    channel: Annotated[
        str | None,
        Query(min_length=1, max_length=64, description="A channel or an alias; not empty."),
        Storable,
    ] = None,
    topic: Annotated[
        str | None,
        Query(max_length=128, description="Effective label of the task playing the topic role."),
        Storable,
    ] = None,
    label: Annotated[
        list[Annotated[str, Storable]] | None,
        Query(description="Repeatable 'task:label' filter on effective labels, any task."),
    ] = None,
    level: Annotated[
        list[Literal["P1", "P2", "P3", "P4"]] | None,
        Query(description="Repeatable priority level; default: every level."),
    ] = None,
    overdue: Annotated[
        bool, Query(description="Only items past their respond_by and not resolved.")
    ] = False,
    received_from: Annotated[
        TimeBound | None, Query(description=f"Received at or after. {TIME_BOUND_HELP}")
    ] = None,
    received_to: Annotated[
        TimeBound | None, Query(description=f"Received before. {TIME_BOUND_HELP}")
    ] = None,
    q: Annotated[
        str | None,
        Query(
            max_length=200,
            description="Words the text holds, in any order, case, Turkish letters and "
            "punctuation aside; each finds the words it begins ('izmir subesi' finds 'İzmir "
            "şubesi'nde', 'kredi' finds 'kredisi', 'ağrı' does not find 'çağrı'). A masked "
            "text is searched as stored.",
        ),
        Storable,
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> QueuePage:
    """Open items, most urgent first."""
    schema = predictor.schema
    labels: dict[str, str] = {}
    wanted: list[tuple[tuple[str | int, ...], str, str, str]] = []
    if topic is not None:  # the task that plays the topic role (the model's schema says which)
        topic_task = schema.role(TaskRole.TOPIC)
        name = topic_task.name if topic_task else "topic"
        wanted.append((("query", "topic"), name, topic, topic))
    for index, item in enumerate(label or []):
        task, sep, value = item.partition(":")
        if not sep or not task or not value:
            raise invalid_input(
                ("query", "label", index), "give a label filter as 'task:label'", item
            )
        wanted.append((("query", "label", index), task, value, item))
    for loc, task, value, raw in wanted:
        check_label(schema, task, value, loc, raw)
        if task in labels and labels[task] != value:
            raise invalid_input(loc, f"two different filters for task {task!r}", raw)
        labels[task] = value

    channel_id = None
    if channel is not None:
        try:
            channel_id = normalize_channel(channel, policy)
        except UnknownChannelError as error:
            raise invalid_input(("query", "channel"), str(error), channel) from None

    words = search_words(q or "")
    if not words and q is not None and q.strip():
        raise invalid_input(("query", "q"), "search for a word: a letter or a digit", q[:40])
    now = utcnow()  # one moment for the filter, the order and each item's overdue flag
    filters = repository.QueueFilters(
        statuses=tuple(status_) if status_ else repository.DEFAULT_QUEUE_STATUSES,
        channel=channel_id,
        labels=labels,
        levels=tuple(level or ()),
        overdue_at=now if overdue else None,
        received_from=in_zone(received_from, policy.zone),
        received_to=in_zone(received_to, policy.zone),
        search=tuple(words),
    )
    count, rows = repository.list_queue(session, filters, limit=limit, offset=offset, now=now)
    return QueuePage(
        count=count,
        items=[FeedbackPublic.from_row(row, zone=policy.zone, now=now) for row in rows],
        limit=limit,
        offset=offset,
    )
