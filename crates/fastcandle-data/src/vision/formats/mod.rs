//! Classic formats held in memory, beside the loading stage: MNIST-style IDX files
//! ([`read_idx`](super::read_idx), [`IdxFiles`](super::IdxFiles)) and the CIFAR-10 binary
//! batches ([`read_cifar`](super::read_cifar), [`CifarFiles`](super::CifarFiles)), read into
//! [`InMemoryImages`](super::InMemoryImages) and given to the loaders as
//! [`ImageItems::in_memory`](super::ImageItems::in_memory) items, with no file per image.

pub(super) mod cifar;
pub(super) mod idx;
