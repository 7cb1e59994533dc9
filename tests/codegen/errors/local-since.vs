/* a local member is never on the wire, so 'since' means nothing for it */
type A "a" version 2 {
    local u8 n since 2;
}
