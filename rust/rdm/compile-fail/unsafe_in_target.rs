// expect: usage of an `unsafe` block
//
// Hole 7 of issue #7: target code must not hold `unsafe`; the crate root
// denies `unsafe_code` and exempts only the rdm layer.

fn peek(p: *const u8) -> u8 {
    unsafe { *p }
}

#[allow(dead_code)]
fn use_it() -> u8 {
    peek(core::ptr::null())
}
