/* Half of an include cycle (include-cycle.vs). */
include "_cycle-b.vs";
