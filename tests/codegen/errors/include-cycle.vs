/* schemas cannot include each other: their C headers would too */
include "_cycle-a.vs";
