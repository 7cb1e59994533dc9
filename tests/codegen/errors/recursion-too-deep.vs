/* structs nest by value at most 64 deep */
type T0 "t0" version 1 {
    T1 next;
}
type T1 "t1" version 1 {
    T2 next;
}
type T2 "t2" version 1 {
    T3 next;
}
type T3 "t3" version 1 {
    T4 next;
}
type T4 "t4" version 1 {
    T5 next;
}
type T5 "t5" version 1 {
    T6 next;
}
type T6 "t6" version 1 {
    T7 next;
}
type T7 "t7" version 1 {
    T8 next;
}
type T8 "t8" version 1 {
    T9 next;
}
type T9 "t9" version 1 {
    T10 next;
}
type T10 "t10" version 1 {
    T11 next;
}
type T11 "t11" version 1 {
    T12 next;
}
type T12 "t12" version 1 {
    T13 next;
}
type T13 "t13" version 1 {
    T14 next;
}
type T14 "t14" version 1 {
    T15 next;
}
type T15 "t15" version 1 {
    T16 next;
}
type T16 "t16" version 1 {
    T17 next;
}
type T17 "t17" version 1 {
    T18 next;
}
type T18 "t18" version 1 {
    T19 next;
}
type T19 "t19" version 1 {
    T20 next;
}
type T20 "t20" version 1 {
    T21 next;
}
type T21 "t21" version 1 {
    T22 next;
}
type T22 "t22" version 1 {
    T23 next;
}
type T23 "t23" version 1 {
    T24 next;
}
type T24 "t24" version 1 {
    T25 next;
}
type T25 "t25" version 1 {
    T26 next;
}
type T26 "t26" version 1 {
    T27 next;
}
type T27 "t27" version 1 {
    T28 next;
}
type T28 "t28" version 1 {
    T29 next;
}
type T29 "t29" version 1 {
    T30 next;
}
type T30 "t30" version 1 {
    T31 next;
}
type T31 "t31" version 1 {
    T32 next;
}
type T32 "t32" version 1 {
    T33 next;
}
type T33 "t33" version 1 {
    T34 next;
}
type T34 "t34" version 1 {
    T35 next;
}
type T35 "t35" version 1 {
    T36 next;
}
type T36 "t36" version 1 {
    T37 next;
}
type T37 "t37" version 1 {
    T38 next;
}
type T38 "t38" version 1 {
    T39 next;
}
type T39 "t39" version 1 {
    T40 next;
}
type T40 "t40" version 1 {
    T41 next;
}
type T41 "t41" version 1 {
    T42 next;
}
type T42 "t42" version 1 {
    T43 next;
}
type T43 "t43" version 1 {
    T44 next;
}
type T44 "t44" version 1 {
    T45 next;
}
type T45 "t45" version 1 {
    T46 next;
}
type T46 "t46" version 1 {
    T47 next;
}
type T47 "t47" version 1 {
    T48 next;
}
type T48 "t48" version 1 {
    T49 next;
}
type T49 "t49" version 1 {
    T50 next;
}
type T50 "t50" version 1 {
    T51 next;
}
type T51 "t51" version 1 {
    T52 next;
}
type T52 "t52" version 1 {
    T53 next;
}
type T53 "t53" version 1 {
    T54 next;
}
type T54 "t54" version 1 {
    T55 next;
}
type T55 "t55" version 1 {
    T56 next;
}
type T56 "t56" version 1 {
    T57 next;
}
type T57 "t57" version 1 {
    T58 next;
}
type T58 "t58" version 1 {
    T59 next;
}
type T59 "t59" version 1 {
    T60 next;
}
type T60 "t60" version 1 {
    T61 next;
}
type T61 "t61" version 1 {
    T62 next;
}
type T62 "t62" version 1 {
    T63 next;
}
type T63 "t63" version 1 {
    T64 next;
}
type T64 "t64" version 1 {
    T65 next;
}
type T65 "t65" version 1 {
    u8 x;
}
