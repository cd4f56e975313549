//! Closed sets of values kept in `text` columns (each with a CHECK
//! constraint in its migration): statuses, kinds, severities. Declared with
//! [`text_enum!`](crate::text_enum), they are Rust enums everywhere above
//! the database, so a typo in a status is a compile error, not a row that
//! no page shows.
//!
//! ```ignore
//! text_enum! {
//!     /// Where a meeting stands.
//!     pub enum MeetingStatus {
//!         Planned = "planned" => "Planned",
//!         Held = "held" => "Held",
//!     }
//! }
//! ```
//! gives `MeetingStatus::Held.as_str() == "held"`, `.label() == "Held"`,
//! `MeetingStatus::ALL`, `FromStr`, `Display`, serde as the string, and
//! sqlx `Type`/`Encode`/`Decode` as `text`: read a column with
//! `status as "status: MeetingStatus"` in a compile-checked query and bind
//! with `status.as_str()`. A value the enum does not know fails to decode
//! (an error, never a silent default).

#[macro_export]
macro_rules! text_enum {
    ($(#[$meta:meta])* $vis:vis enum $name:ident { $($(#[$vmeta:meta])* $variant:ident = $value:literal => $label:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
        $vis enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            /// Every value, in the order declared (the order pickers show).
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The value stored in the database and sent by forms.
            pub const fn as_str(self) -> &'static str {
                match self { $($name::$variant => $value),+ }
            }

            /// The words a page shows.
            pub const fn label(self) -> &'static str {
                match self { $($name::$variant => $label),+ }
            }

            /// `(value, label)` pairs, for pickers.
            pub fn choices() -> Vec<(&'static str, &'static str)> {
                Self::ALL.iter().map(|v| (v.as_str(), v.label())).collect()
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::text_enum::Unknown;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($value => Ok($name::$variant),)+
                    other => Err($crate::text_enum::Unknown { kind: stringify!($name), value: other.to_string() }),
                }
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }

        impl sqlx::Type<sqlx::Postgres> for $name {
            fn type_info() -> sqlx::postgres::PgTypeInfo {
                <&str as sqlx::Type<sqlx::Postgres>>::type_info()
            }
            fn compatible(ty: &sqlx::postgres::PgTypeInfo) -> bool {
                <&str as sqlx::Type<sqlx::Postgres>>::compatible(ty)
            }
        }

        impl sqlx::postgres::PgHasArrayType for $name {
            fn array_type_info() -> sqlx::postgres::PgTypeInfo {
                <&str as sqlx::postgres::PgHasArrayType>::array_type_info()
            }
            fn array_compatible(ty: &sqlx::postgres::PgTypeInfo) -> bool {
                <&str as sqlx::postgres::PgHasArrayType>::array_compatible(ty)
            }
        }

        impl<'q> sqlx::Encode<'q, sqlx::Postgres> for $name {
            fn encode_by_ref(
                &self,
                buf: &mut sqlx::postgres::PgArgumentBuffer,
            ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
                <&str as sqlx::Encode<sqlx::Postgres>>::encode(self.as_str(), buf)
            }
        }

        impl<'r> sqlx::Decode<'r, sqlx::Postgres> for $name {
            fn decode(value: sqlx::postgres::PgValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
                let s = <&str as sqlx::Decode<sqlx::Postgres>>::decode(value)?;
                Ok(s.parse()?)
            }
        }
    };
}

/// A stored or submitted value that is not one of the enum's.
#[derive(Debug, thiserror::Error)]
#[error("{value:?} is not a known {kind}")]
pub struct Unknown {
    pub kind: &'static str,
    pub value: String,
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)] // the test reads values back with SQL built at run time
mod tests {
    crate::text_enum! {
        /// A test enum.
        pub enum Colour {
            Red = "red" => "Red",
            DarkBlue = "dark_blue" => "Dark blue",
        }
    }

    #[test]
    fn values_round_trip_and_unknown_ones_fail() {
        assert_eq!(Colour::DarkBlue.as_str(), "dark_blue");
        assert_eq!(Colour::DarkBlue.label(), "Dark blue");
        assert_eq!("red".parse::<Colour>().unwrap(), Colour::Red);
        assert!("green".parse::<Colour>().is_err());
        assert_eq!(serde_json::to_string(&Colour::Red).unwrap(), "\"red\"");
        assert_eq!(serde_json::from_str::<Colour>("\"dark_blue\"").unwrap(), Colour::DarkBlue);
        assert!(serde_json::from_str::<Colour>("\"green\"").is_err());
        assert_eq!(Colour::ALL.len(), 2);
        assert_eq!(Colour::choices()[1], ("dark_blue", "Dark blue"));
    }

    #[sqlx::test(migrations = false)]
    async fn an_enum_is_a_text_column(pool: sqlx::PgPool) {
        let back: Colour = sqlx::query_scalar("select $1::text").bind(Colour::DarkBlue).fetch_one(&pool).await.unwrap();
        assert_eq!(back, Colour::DarkBlue);
        let bad: Result<Colour, _> = sqlx::query_scalar("select 'green'::text").fetch_one(&pool).await;
        assert!(bad.is_err());
    }
}
