"""The services the routes use, built once per app and injected through ``Annotated`` aliases."""

from __future__ import annotations

import asyncio
import gc
import logging
import threading
from collections.abc import Callable
from typing import Annotated, TypeVar, cast

import anyio
import anyio.to_thread
from fastapi import Depends, Request

from aimsight.aims import AimsService
from aimsight.core.errors import AimsightError
from aimsight.core.workspace import Workspace
from aimsight.decide import FLOWS_FOLDER, DecisionService
from aimsight.features import FeatureService
from aimsight.identity import IdentityService
from aimsight.privacy import ConsentService
from aimsight.registry import ModelRegistry, ModelTrainer
from aimsight.security import ApiKeyService
from aimsight.store import Ledger, Store

__all__ = [
    "AimsDep",
    "ConsentsDep",
    "DecisionsDep",
    "FeaturesDep",
    "IdentityDep",
    "KeysDep",
    "LedgerDep",
    "RegistryDep",
    "Services",
    "ServicesDep",
    "TrainerDep",
    "get_services",
]


_log = logging.getLogger("aimsight.api")
_T = TypeVar("_T")


class Services:
    """The workspace's store, ledger and key service, opened on first use and shared.

    The app's lifespan opens them at start-up (so a broken store fails fast) and closes them
    at shutdown. A store passed in by the caller is theirs to dispose.
    """

    def __init__(
        self, workspace: Workspace, store: Store | None = None, *, server: bool = False
    ) -> None:
        self.workspace = workspace
        self.server = server
        self._store = store
        self._owns_store = store is None
        self._ledger: Ledger | None = None
        self._registry: ModelRegistry | None = None
        self._features: FeatureService | None = None
        self._decisions: DecisionService | None = None
        self._head: str | None = None
        self._lock = threading.RLock()
        self._lanes: tuple[asyncio.AbstractEventLoop, anyio.CapacityLimiter] | None = None

    @property
    def store(self) -> Store:
        """The operational store (opened, and migrated if configured, on first use)."""
        with self._lock:
            if self._store is None:
                self._store = Store.open(self.workspace)
            return self._store

    @property
    def ledger(self) -> Ledger:
        """The workspace's ledger; every key change is recorded on it."""
        with self._lock:
            if self._ledger is None:
                self._ledger = Ledger.open(self.workspace, self.store)
            return self._ledger

    @property
    def keys(self) -> ApiKeyService:
        """The API-key service, auditing to the ledger."""
        return ApiKeyService(self.store, audit=self.ledger)

    @property
    def identity(self) -> IdentityService:
        """Identity resolution on the embedded (DuckDB) backend, recording on the ledger."""
        return self.identity_on("duckdb")

    def identity_on(self, backend: str) -> IdentityService:
        """Identity resolution on ``backend`` (``duckdb`` or ``spark``)."""
        return IdentityService(self.workspace, self.store, self.ledger, backend=backend)

    @property
    def registry(self) -> ModelRegistry:
        """The model registry; one per app, so loaded models stay cached between requests."""
        with self._lock:
            if self._registry is None:
                self._registry = ModelRegistry(self.workspace, self.store, self.ledger)
            return self._registry

    @property
    def features(self) -> FeatureService:
        """The feature service; one per app, so the online snapshot stays loaded between
        requests."""
        with self._lock:
            if self._features is None:
                self._features = FeatureService(self.workspace, self.store, self.ledger)
            return self._features

    @property
    def decisions(self) -> DecisionService:
        """The decision service; one per app, so flows, loaded models and batch scores stay
        in memory between requests."""
        with self._lock:
            if self._decisions is None:
                self._decisions = DecisionService(
                    self.workspace,
                    self.store,
                    self.ledger,
                    features=self.features,
                    registry=self.registry,
                )
            return self._decisions

    async def in_decision_lane(self, call: Callable[[], _T]) -> _T:
        """Run ``call`` (a decision) on a worker thread once one of the process's
        ``api.decision_threads`` lanes is free.

        Decisions take their own few lanes rather than the shared pool of 40 threads: under
        load, forty decisions at once mostly wait on each other (the GIL, the ledger's write
        lock, SQLite), so a few lanes answer more of them sooner, and other routes keep
        their threads.
        """
        loop = asyncio.get_running_loop()
        if self._lanes is None or self._lanes[0] is not loop:  # a limiter serves one loop
            lanes = self.workspace.settings.api.decision_threads or (
                1 if self.store.backend == "sqlite" else 4
            )
            self._lanes = (loop, anyio.CapacityLimiter(lanes))
        return await anyio.to_thread.run_sync(call, limiter=self._lanes[1])

    @property
    def trainer(self) -> ModelTrainer:
        """Trains the workspace's declared models into the registry, recording on the ledger."""
        return ModelTrainer(self.workspace, self.store, self.ledger)

    @property
    def aims(self) -> AimsService:
        """The AI management system: records, checks, SoA, metrics and packs."""
        return AimsService(self.workspace, self.store, self.ledger)

    @property
    def consents(self) -> ConsentService:
        """Consent records and the decision gate, recording every change on the ledger."""
        return ConsentService(self.workspace, self.store, self.ledger)

    @property
    def head_revision(self) -> str:
        """The newest schema revision this version ships (read once)."""
        with self._lock:
            if self._head is None:
                self._head = self.store.head_revision()
            return self._head

    def open(self) -> None:
        """Open the store and the ledger now rather than on the first request, and start
        scoring the decision flows' models in the background (so the first decisions read
        batch scores instead of scoring live)."""
        _ = self.ledger
        if self._owns_store:  # a long-running server: no commit stalls on a WAL checkpoint
            self.store.checkpoint_in_background()
        if any((self.workspace.root / FLOWS_FOLDER).glob("*.yaml")):
            threading.Thread(target=self._warm_decisions, name="aimsight-warm", daemon=True).start()

    def _warm_decisions(self) -> None:
        try:
            self.decisions.warm()
        except AimsightError as exc:  # a bad flow file: decisions answer with the error
            _log.warning("decision flows not warmed: %s", exc.message)
        except Exception:  # noqa: BLE001 - the app closed meanwhile; warming is only a speed-up
            _log.debug("decision flows not warmed", exc_info=True)
        if self.server:
            # What is loaded now (models, the online snapshot, batch scores, the modules)
            # lives as long as the server: keep it out of the cyclic collector's sweeps,
            # which otherwise walk all of it (100-160 ms, stalling every request queued
            # behind them; p99 at 300 decisions/s went from 30 to 17 ms).
            gc.collect()
            gc.freeze()

    def close(self) -> None:
        """Dispose of the store if this app opened it."""
        if self.server:
            gc.unfreeze()  # let the shutdown free what warming loaded
        with self._lock:
            if self._owns_store and self._store is not None:
                self._store.dispose()
                self._store = None
            if self._decisions is not None:
                self._decisions.close()
            self._decisions = None
            self._ledger = None
            self._registry = None
            self._features = None


# The dependencies below only hand out services the app already holds, so they are
# ``async``: FastAPI then runs them on the event loop instead of sending each to the thread
# pool (every hop there costs a GIL hand-over, which under load is most of a request).
async def get_services(request: Request) -> Services:
    """The app's :class:`Services`."""
    return cast(Services, request.app.state.services)


ServicesDep = Annotated[Services, Depends(get_services)]


async def _keys(services: ServicesDep) -> ApiKeyService:
    return services.keys


async def _ledger(services: ServicesDep) -> Ledger:
    return services.ledger


async def _identity(services: ServicesDep) -> IdentityService:
    return services.identity


async def _registry(services: ServicesDep) -> ModelRegistry:
    return services.registry


async def _features(services: ServicesDep) -> FeatureService:
    return services.features


async def _decisions(services: ServicesDep) -> DecisionService:
    return services.decisions


async def _trainer(services: ServicesDep) -> ModelTrainer:
    return services.trainer


async def _aims(services: ServicesDep) -> AimsService:
    return services.aims


async def _consents(services: ServicesDep) -> ConsentService:
    return services.consents


AimsDep = Annotated[AimsService, Depends(_aims)]
ConsentsDep = Annotated[ConsentService, Depends(_consents)]
DecisionsDep = Annotated[DecisionService, Depends(_decisions)]
KeysDep = Annotated[ApiKeyService, Depends(_keys)]
LedgerDep = Annotated[Ledger, Depends(_ledger)]
IdentityDep = Annotated[IdentityService, Depends(_identity)]
RegistryDep = Annotated[ModelRegistry, Depends(_registry)]
FeaturesDep = Annotated[FeatureService, Depends(_features)]
TrainerDep = Annotated[ModelTrainer, Depends(_trainer)]
