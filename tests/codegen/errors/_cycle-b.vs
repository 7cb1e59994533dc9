/* The other half of an include cycle (include-cycle.vs). */
include "_cycle-a.vs";
