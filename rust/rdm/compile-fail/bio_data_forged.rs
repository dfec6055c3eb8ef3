// expect: Sealed` is not satisfied
//
// Only the layer's owned bio views carry data a target may copy (into the
// cache, from pmem): a target cannot declare its own type one.

#[allow(unused_imports)]
use super::rdm::{BioData, Mapped, Target};
use kernel::prelude::*;

super::fixture::case_target! { @remap }

struct Forged;

impl BioData for Forged {}
