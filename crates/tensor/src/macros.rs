//! The macro that derives the panicking plain-name twins of `try_*` methods.

/// For each `name => try_name(args) -> Ret;`, defines `Tensor::name(&self, args) -> Ret`
/// that unwraps `try_name` and panics with the error's message.
macro_rules! panicking {
    ($( $name:ident => $try:ident ( $($arg:ident : $ty:ty),* ) -> $ret:ty ; )*) => {
        #[allow(clippy::should_implement_trait)]
        impl $crate::Tensor {
            $(
                #[doc = concat!(
                    "Panicking form of [`Tensor::", stringify!($try),
                    "`]: same result, panics with the same message on error."
                )]
                #[track_caller]
                pub fn $name(&self, $($arg: $ty),*) -> $ret {
                    match self.$try($($arg),*) {
                        Ok(v) => v,
                        Err(e) => panic!("{e}"),
                    }
                }
            )*
        }
    };
}

pub(crate) use panicking;
