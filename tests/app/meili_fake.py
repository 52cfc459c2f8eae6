"""A small Meilisearch stand-in: the part of its HTTP API the adapter and client use.

No Meilisearch server can run on these machines (docs/environment.md), so the adapter is tested
against this, written from Meilisearch's API reference (v1.x):

- Asynchronous operations answer 202 with a summarized task `{taskUid, indexUid, status:
  "enqueued", type, enqueuedAt}`; `GET /tasks/{uid}` reports `succeeded` or `failed` with
  an `error` object. (Here tasks are processed at once, in order, as one index's tasks are.)
- `POST /indexes` creates an index; an existing uid fails the task with
  `index_already_exists`. Adding documents or updating settings creates a missing index.
- `GET /indexes/{uid}` is 404 with code `index_not_found`; `GET /indexes` pages with
  offset/limit and returns `total`.
- Documents are added or replaced by primary key (`POST /indexes/{uid}/documents`).
- Search (`POST /indexes/{uid}/search`, `POST /multi-search` with `queries` and a null
  `federation`): the default matching strategy `last` (documents with all query words
  first, then dropping words from the end), filters as an array of `attribute OP value`
  expressions ANDed (=, !=, >, >=, <, <=; strings in double quotes), `sort` of
  `attribute:asc|desc` applied after the word-count bucket as the default ranking rules
  put `sort` after `words`, offset/limit, `estimatedTotalHits`, `facetDistribution` (values
  as strings), `attributesToRetrieve`, `showRankingScore`. Filtering or sorting on an
  attribute not declared filterable/sortable is a 400 `invalid_search_filter` /
  `invalid_search_sort`, as in Meilisearch.

Not modelled: typo tolerance, proximity, the real ranking score formula (here the share of
query words matched), and federation.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

WORD = re.compile(r"\w+", re.UNICODE)
FILTER = re.compile(r'^\s*(\w+)\s*(>=|<=|!=|=|>|<)\s*("(?:[^"\\]|\\.)*"|[-\d.]+)\s*$')
OPS = {
    "=": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    ">": lambda a, b: a is not None and a > b,
    ">=": lambda a, b: a is not None and a >= b,
    "<": lambda a, b: a is not None and a < b,
    "<=": lambda a, b: a is not None and a <= b,
}


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z")


def _error(status: int, code: str, message: str) -> JSONResponse:
    kind = "invalid_request"
    link = f"https://docs.meilisearch.com/errors#{code}"
    return JSONResponse(
        {"message": message, "code": code, "type": kind, "link": link}, status_code=status
    )


class SearchError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class FakeMeili:
    def __init__(self) -> None:
        self.indexes: dict[str, dict[str, Any]] = {}
        self.tasks: list[dict[str, Any]] = []
        # "add <index>" per document addition, "get <task uid>" per task poll, in order.
        self.calls: list[str] = []
        self.app = Starlette(
            routes=[
                Route("/health", self.health),
                Route("/indexes", self.list_indexes, methods=["GET"]),
                Route("/indexes", self.create_index, methods=["POST"]),
                Route("/indexes/{uid}", self.get_index, methods=["GET"]),
                Route("/indexes/{uid}", self.delete_index, methods=["DELETE"]),
                Route("/indexes/{uid}/settings", self.update_settings, methods=["PATCH"]),
                Route("/indexes/{uid}/documents", self.add_documents, methods=["POST"]),
                Route("/indexes/{uid}/search", self.search_one, methods=["POST"]),
                Route("/multi-search", self.multi_search, methods=["POST"]),
                Route("/tasks/{uid:int}", self.get_task),
            ]
        )

    # -- tasks and indexes ----------------------------------------------------------------

    def _task(
        self, uid: str | None, kind: str, error: tuple[str, str] | None = None
    ) -> JSONResponse:
        now = _now()
        task = {
            "uid": len(self.tasks), "indexUid": uid, "type": kind,
            "status": "failed" if error else "succeeded", "details": {},
            "error": None if error is None else {"code": error[0], "message": error[1]},
            "duration": "PT0S", "enqueuedAt": now, "startedAt": now, "finishedAt": now,
        }  # fmt: skip
        self.tasks.append(task)
        summary = {"taskUid": task["uid"], "indexUid": uid, "status": "enqueued", "type": kind,
                   "enqueuedAt": now}  # fmt: skip
        return JSONResponse(summary, status_code=202)

    def _ensure(self, uid: str, primary_key: str | None = None) -> dict[str, Any]:
        if uid not in self.indexes:
            now = _now()
            self.indexes[uid] = {
                "uid": uid, "primaryKey": primary_key, "createdAt": now, "updatedAt": now,
                "documents": {}, "settings": {"filterableAttributes": [],
                "sortableAttributes": [], "searchableAttributes": ["*"]},
            }  # fmt: skip
        index = self.indexes[uid]
        if index["primaryKey"] is None and primary_key:
            index["primaryKey"] = primary_key
        return index

    @staticmethod
    def _public(index: dict[str, Any]) -> dict[str, Any]:
        return {key: index[key] for key in ("uid", "primaryKey", "createdAt", "updatedAt")}

    async def health(self, request: Request) -> JSONResponse:
        return JSONResponse({"status": "available"})

    async def list_indexes(self, request: Request) -> JSONResponse:
        offset = int(request.query_params.get("offset", 0))
        limit = int(request.query_params.get("limit", 20))
        every = [self._public(i) for _, i in sorted(self.indexes.items())]
        return JSONResponse(
            {"results": every[offset : offset + limit], "offset": offset, "limit": limit,
             "total": len(every)}
        )  # fmt: skip

    async def create_index(self, request: Request) -> JSONResponse:
        body = await request.json()
        uid = body["uid"]
        if uid in self.indexes:
            return self._task(
                uid, "indexCreation", ("index_already_exists", f"Index `{uid}` already exists.")
            )
        self._ensure(uid, body.get("primaryKey"))
        return self._task(uid, "indexCreation")

    async def get_index(self, request: Request) -> JSONResponse:
        uid = request.path_params["uid"]
        if uid not in self.indexes:
            return _error(404, "index_not_found", f"Index `{uid}` not found.")
        return JSONResponse(self._public(self.indexes[uid]))

    async def delete_index(self, request: Request) -> JSONResponse:
        uid = request.path_params["uid"]
        if self.indexes.pop(uid, None) is None:
            return self._task(
                uid, "indexDeletion", ("index_not_found", f"Index `{uid}` not found.")
            )
        return self._task(uid, "indexDeletion")

    async def update_settings(self, request: Request) -> JSONResponse:
        uid = request.path_params["uid"]
        self._ensure(uid)["settings"].update(await request.json())
        return self._task(uid, "settingsUpdate")

    async def add_documents(self, request: Request) -> JSONResponse:
        uid = request.path_params["uid"]
        index = self._ensure(uid, request.query_params.get("primaryKey"))
        key = index["primaryKey"] or "id"
        for document in await request.json():
            index["documents"][document[key]] = document
        self.calls.append(f"add {uid}")
        return self._task(uid, "documentAdditionOrUpdate")

    async def get_task(self, request: Request) -> JSONResponse:
        uid = request.path_params["uid"]
        self.calls.append(f"get {uid}")
        if uid >= len(self.tasks):
            return _error(404, "task_not_found", f"Task `{uid}` not found.")
        return JSONResponse(self.tasks[uid])

    # -- search ----------------------------------------------------------------------------

    async def search_one(self, request: Request) -> JSONResponse:
        uid = request.path_params["uid"]
        if uid not in self.indexes:
            return _error(404, "index_not_found", f"Index `{uid}` not found.")
        try:
            return JSONResponse(self.search(uid, await request.json()))
        except SearchError as error:
            return _error(400, error.code, str(error))

    async def multi_search(self, request: Request) -> JSONResponse:
        body = await request.json()
        if body.get("federation") is not None:
            return _error(400, "invalid_multi_search_federation", "federation is not modelled")
        results = []
        for i, query in enumerate(body["queries"]):
            uid = query["indexUid"]
            if uid not in self.indexes:
                return _error(
                    404, "index_not_found", f"Inside `.queries[{i}]`: Index `{uid}` not found."
                )
            try:
                results.append({"indexUid": uid, **self.search(uid, query)})
            except SearchError as error:
                return _error(400, error.code, f"Inside `.queries[{i}]`: {error}")
        return JSONResponse({"results": results})

    def search(self, uid: str, query: dict[str, Any]) -> dict[str, Any]:
        index = self.indexes[uid]
        settings = index["settings"]
        terms = [t.lower() for t in WORD.findall(query.get("q") or "")]
        predicates = [self._predicate(f, settings) for f in _filters(query.get("filter"))]
        sort = [self._sort_key(s, settings) for s in query.get("sort") or []]
        searchable = settings.get("searchableAttributes") or ["*"]
        matched: list[tuple[int, dict[str, Any]]] = []
        for document in index["documents"].values():
            if not all(p(document) for p in predicates):
                continue
            words = _words(document, searchable)
            score = _leading_matches(terms, words)
            if terms and score == 0:
                continue
            matched.append((score, document))

        def order(item: tuple[int, dict[str, Any]]) -> tuple[Any, ...]:
            score, document = item
            keys: list[Any] = [-score]
            for field, descending in sort:
                value = document.get(field)
                keys += [value is None, _neg(value) if descending else value]
            return (*keys, str(document[index["primaryKey"] or "id"]))

        matched.sort(key=order)
        offset, limit = int(query.get("offset", 0)), int(query.get("limit", 20))
        retrieve = query.get("attributesToRetrieve") or ["*"]
        hits = []
        for score, document in matched[offset : offset + limit]:
            hit = (
                dict(document)
                if "*" in retrieve
                else {k: document.get(k) for k in retrieve if k in document}
            )
            if query.get("showRankingScore"):
                hit["_rankingScore"] = score / len(terms) if terms else 1.0
            hits.append(hit)
        answer: dict[str, Any] = {
            "hits": hits, "query": query.get("q") or "", "processingTimeMs": 0,
            "limit": limit, "offset": offset, "estimatedTotalHits": len(matched),
        }  # fmt: skip
        if query.get("facets"):
            distribution: dict[str, dict[str, int]] = {}
            for facet in query["facets"]:
                counts: dict[str, int] = {}
                for _, document in matched:
                    value = document.get(facet)
                    if value is not None:
                        counts[str(value)] = counts.get(str(value), 0) + 1
                distribution[facet] = counts
            answer["facetDistribution"] = distribution
        return answer

    @staticmethod
    def _predicate(expression: str, settings: dict[str, Any]) -> Any:
        match = FILTER.match(expression)
        if match is None:
            raise SearchError("invalid_search_filter", f"Cannot parse filter `{expression}`")
        field, op, raw = match.groups()
        if field not in settings.get("filterableAttributes", []):
            raise SearchError("invalid_search_filter", f"Attribute `{field}` is not filterable.")
        value: Any = raw[1:-1].replace('\\"', '"') if raw.startswith('"') else float(raw)
        return lambda document: OPS[op](document.get(field), value)

    @staticmethod
    def _sort_key(expression: str, settings: dict[str, Any]) -> tuple[str, bool]:
        field, _, direction = expression.partition(":")
        if field not in settings.get("sortableAttributes", []) or direction not in {"asc", "desc"}:
            raise SearchError("invalid_search_sort", f"Attribute `{field}` is not sortable.")
        return field, direction == "desc"


def _filters(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [part for part in re.split(r"\s+AND\s+", value) if part]
    return list(value)


def _words(document: dict[str, Any], searchable: list[str]) -> set[str]:
    fields = document.keys() if "*" in searchable else searchable
    text = " ".join(str(document.get(f) or "") for f in fields)
    return {w.lower() for w in WORD.findall(text)}


def _leading_matches(terms: list[str], words: set[str]) -> int:
    """Matching strategy `last`: how many of the first query words the document holds."""
    for n in range(len(terms), 0, -1):
        if all(term in words for term in terms[:n]):
            return n
    return 0


def _neg(value: Any) -> Any:
    return -value if isinstance(value, int | float) else value
