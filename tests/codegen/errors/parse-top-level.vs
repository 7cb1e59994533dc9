/* only include, codec and type declarations are allowed at the top level */
u8 x;
