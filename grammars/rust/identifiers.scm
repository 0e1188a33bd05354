; Identifier-like names of a Rust chunk, later matched against the engineer's explanation of it.
;
; Names that say nothing about the chunk are excluded here: path keywords, which are identifier
; nodes only in some positions, and the strict and reserved keywords, which error recovery on a
; fragment (a few statements without their function) turns into plain identifier nodes.
; Very short names (`i`, `x`, the `a` of `'a`) are dropped in code.

(([(identifier)
   (type_identifier)
   (field_identifier)
   (shorthand_field_identifier)] @identifier)
  (#not-any-of? @identifier
    "self" "Self" "super" "crate"
    "as" "async" "await" "break" "const" "continue" "dyn" "else" "enum" "extern" "false" "fn"
    "for" "if" "impl" "in" "let" "loop" "match" "mod" "move" "mut" "pub" "ref" "return"
    "static" "struct" "trait" "true" "type" "unsafe" "use" "where" "while"
    "abstract" "become" "box" "do" "final" "gen" "macro" "override" "priv" "try" "typeof"
    "unsized" "virtual" "yield"))
