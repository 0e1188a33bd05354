; Named items of a Rust chunk, for the chunk's title (`fn parse_header`, `impl Display for Header`).
;
; Every pattern captures the item as @item and its name as @name, and declares with
; `#set! keyword` the word its title starts with. Impls capture the implemented trait as @trait
; (title `impl <trait> for <name>`) and the self type as @name; their own generic parameters
; (`impl<T>`) are deliberately not captured, so `impl<T> From<T> for Wrapper<T>` is titled
; `impl From<T> for Wrapper<T>`.
;
; Nesting is resolved in code, not here: only the outermost captured item is listed, so an impl
; with five methods yields just the impl, while bare methods pasted without their impl (they parse
; as top-level functions) are each listed.

(function_item
  name: (identifier) @name
  (#set! keyword "fn")) @item

; `fn next(&mut self) -> Option<u8>;` inside a trait or an extern block.
(function_signature_item
  name: (identifier) @name
  (#set! keyword "fn")) @item

(impl_item
  trait: (_) @trait
  type: (_) @name
  (#set! keyword "impl")) @item

; Inherent impl: the negated field keeps it from also matching trait impls.
(impl_item
  !trait
  type: (_) @name
  (#set! keyword "impl")) @item

(struct_item
  name: (type_identifier) @name
  (#set! keyword "struct")) @item

(enum_item
  name: (type_identifier) @name
  (#set! keyword "enum")) @item

(union_item
  name: (type_identifier) @name
  (#set! keyword "union")) @item

(trait_item
  name: (type_identifier) @name
  (#set! keyword "trait")) @item

(mod_item
  name: (identifier) @name
  (#set! keyword "mod")) @item

(const_item
  name: (identifier) @name
  (#set! keyword "const")) @item

(static_item
  name: (identifier) @name
  (#set! keyword "static")) @item

(type_item
  name: (type_identifier) @name
  (#set! keyword "type")) @item

(macro_definition
  name: (identifier) @name
  (#set! keyword "macro_rules!")) @item

; Error recovery. A chunk cut off before its closing braces often leaves an item's tokens loose
; inside an ERROR node instead of forming the item; the keyword followed by the name is still
; there. An impl, trait or mod claims the whole ERROR node as its @item, so the methods after its
; header are not listed separately; a loose `fn` claims only its keyword, so that a run of cut-off
; functions is still listed one by one. Inside ERROR nodes a type name can be an `identifier`.

(ERROR
  "fn" @item
  .
  (identifier) @name
  (#set! keyword "fn"))

; `impl<T> Wrapper<T> {`: the name is directly followed by the brace, which a trait impl's is not.
(ERROR
  "impl"
  .
  (type_parameters)?
  .
  (_) @name
  .
  "{"
  (#set! keyword "impl")) @item

(ERROR
  "impl"
  .
  (type_parameters)?
  .
  (_) @trait
  .
  "for"
  .
  (_) @name
  (#set! keyword "impl")) @item

(ERROR
  "trait"
  .
  [(type_identifier) (identifier)] @name
  (#set! keyword "trait")) @item

(ERROR
  "mod"
  .
  (identifier) @name
  (#set! keyword "mod")) @item
