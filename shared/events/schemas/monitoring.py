"""Events of the monitoring service: SLA warnings, breaches and their clearing.

(The monitoring service owns this contract.)
"""

from __future__ import annotations
