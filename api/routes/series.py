"""The metric store: series and their samples."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from api.deps import SessionDep, require
from api.pagination import Page, paginate
from collectors.store import queries
from collectors.store.models import Series
from collectors.store.schemas import SamplesOut, SamplesQuery, SeriesListQuery, SeriesOut
from itsm_core.actor import Actor
from itsm_core.fields import MAX_DB_ID
from itsm_core.people.roles import Permission

router = APIRouter(prefix="/api/v1/series", tags=["metrics"])
Reader = Annotated[Actor, Depends(require(Permission.METRIC_READ))]
Id = Annotated[int, Path(ge=1, le=MAX_DB_ID)]


@router.get("", summary="List series (metric, labels, CI), newest first")
def list_series(
    session: SessionDep, _: Reader, query: Annotated[SeriesListQuery, Query()]
) -> Page[SeriesOut]:
    stmt = queries.series_query(query.to_filter())
    rows, next_cursor = paginate(session, stmt, Series.id, query.cursor, query.limit)
    return Page(items=[SeriesOut.of(s) for s in rows], next_cursor=next_cursor)


@router.get("/{series_id}/samples", summary="A series' points in a time range")
def series_samples(
    series_id: Id, session: SessionDep, _: Reader, query: Annotated[SamplesQuery, Query()]
) -> SamplesOut:
    start, end = query.window()
    read = queries.read_points(session, series_id, start, end, query.resolution, query.limit)
    return SamplesOut.of(read)
