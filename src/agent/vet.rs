//! A second look at an ending call whose arguments parse (the plan's baseline).

/// A second look at ending arguments that parse, which may take time (the plan's
/// baseline runs commands); `Err` goes back to the model word for word.
#[async_trait::async_trait]
pub trait Vet<T: Sync>: Send + Sync {
    async fn vet(&self, value: &T) -> Result<(), String>;
}

pub(super) struct AcceptAll;

#[async_trait::async_trait]
impl<T: Sync> Vet<T> for AcceptAll {
    async fn vet(&self, _: &T) -> Result<(), String> {
        Ok(())
    }
}
