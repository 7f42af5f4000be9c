"""The reference background each frame is compared with: median init, slow update, re-init, state.

``BackgroundManager`` is the one entry point; the modules beside it hold its parts
(``median`` temporal median, ``scene`` global-change detection, ``update`` slow blend,
``initial`` picture / CDnet warm-up references, ``state`` persistence).
"""

from __future__ import annotations

from .manager import REINIT_EVENT, BackgroundManager
from .median import MedianCollector, temporal_median

__all__ = ["REINIT_EVENT", "BackgroundManager", "MedianCollector", "temporal_median"]
