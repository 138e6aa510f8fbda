//! JSON Schema pieces for values the wire types hold loosely (`serde_json::Value`,
//! `Option<()>`, numbers that may come as strings): the `schema_with` helpers the types'
//! `utoipa::ToSchema` derives name, and the OpenAPI document reuses. A leaf: it imports
//! nothing of the crate, so the wire types below the document can name it.

use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, OneOfBuilder, Schema, Type};
use utoipa::openapi::{KnownFormat, RefOr, SchemaFormat};

// ---------------------------------------------------------------------------------------
// Schemas for values the Rust types hold loosely (`serde_json::Value`, `Option<()>`).

pub(crate) fn schema(o: ObjectBuilder) -> Schema {
    Schema::Object(o.build())
}

/// Always `null` (fields the guide shows as null).
pub(crate) fn null() -> Schema {
    schema(ObjectBuilder::new().schema_type(Type::Null))
}

/// Any JSON value.
pub(crate) fn any_value() -> Schema {
    schema(ObjectBuilder::new().schema_type(utoipa::openapi::schema::SchemaType::AnyValue))
}

pub(crate) fn one_of(items: impl IntoIterator<Item = Schema>) -> Schema {
    let mut b = OneOfBuilder::new();
    for s in items {
        b = b.item(s);
    }
    Schema::OneOf(b.build())
}

pub(crate) fn string() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::String)
}

pub(crate) fn integer() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
}

/// A `u64` that may be absent: JSON integers up to `u64::MAX` (no int64 format).
pub(crate) fn optional_u64() -> Schema {
    schema(
        ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::SchemaType::from_iter([
                Type::Integer,
                Type::Null,
            ]))
            .minimum(Some(0))
            .maximum(Some(u64::MAX)),
    )
}

/// A script id: a string in `GET scripts/{id}`, a number in exports.
pub(crate) fn id_text_or_number() -> Schema {
    one_of([
        schema(string().pattern(Some("^-?[0-9]+$"))),
        schema(integer()),
    ])
}

/// `POST /_mock/clock` `set`: epoch ms or an ISO date-time.
pub(crate) fn clock_set() -> Schema {
    any_of([
        schema(
            integer()
                .description(Some("epoch milliseconds, 1970 to 9999"))
                .minimum(Some(0))
                .maximum(Some(253_402_300_799_999_i64)),
        ),
        schema(
            string()
                .description(Some("an ISO date-time, 1970 to 9999"))
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
                .pattern(Some("^(19[7-9][0-9]|[2-9][0-9]{3})-"))
                .examples([serde_json::json!("2022-05-11T07:25:00Z")]),
        ),
        schema(
            string()
                .description(Some("the system clock's time (a running clock: real time)"))
                .enum_values(Some(["now"])),
        ),
        null(),
    ])
}

pub(crate) fn any_of(items: impl IntoIterator<Item = Schema>) -> Schema {
    let mut b = utoipa::openapi::schema::AnyOfBuilder::new();
    for s in items {
        b = b.item(s);
    }
    Schema::AnyOf(b.build())
}

/// `POST /_mock/clock` `advance`: ms, or a duration like `4h`.
pub(crate) fn clock_advance() -> Schema {
    one_of([
        schema(
            integer()
                .description(Some("milliseconds"))
                .minimum(Some(-253_402_300_799_999_i64))
                .maximum(Some(253_402_300_799_999_i64)),
        ),
        schema(
            string()
                .pattern(Some("^\\s*-?[0-9]+(ms|s|m|h|d|w)\\s*$"))
                .examples([serde_json::json!("4h")]),
        ),
        null(),
    ])
}

/// A CAR text field: a string, or a number taken as its text.
pub(crate) fn text_or_number() -> Schema {
    schema(
        ObjectBuilder::new().schema_type(utoipa::openapi::schema::SchemaType::from_iter([
            Type::String,
            Type::Number,
            Type::Null,
        ])),
    )
}

/// A CAR text that must be there: a string, or a number taken as its text.
pub(crate) fn text_or_number_given() -> Schema {
    schema(
        ObjectBuilder::new().schema_type(utoipa::openapi::schema::SchemaType::from_iter([
            Type::String,
            Type::Number,
        ])),
    )
}

/// A CAR whole number: a number of 0 or more, or a string holding one (blank: the default).
pub(crate) fn whole_number() -> Schema {
    one_of([
        schema(
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .minimum(Some(0))
                .maximum(Some(u64::MAX)),
        ),
        // 19 digits always fit a u64 (some 20-digit numbers do too; the schema leaves
        // those out).
        schema(string().pattern(Some("^\\s*0*[0-9]{0,19}\\s*$"))),
        null(),
    ])
}

/// A CAR whole number that must be there: a number of 0 or more, or a string holding one.
pub(crate) fn whole_number_given() -> Schema {
    one_of([
        schema(
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .minimum(Some(0))
                .maximum(Some(u64::MAX)),
        ),
        schema(string().pattern(Some("^\\s*0*[0-9]{1,19}\\s*$"))),
    ])
}

/// A CAR page size: 1 to the server's `maxPageSize` (1000 unless changed), or as a string.
pub(crate) fn page_size() -> Schema {
    one_of([
        schema(integer().minimum(Some(1)).maximum(Some(1000))),
        schema(string().pattern(Some("^\\s*([1-9][0-9]{0,2}|1000)?\\s*$"))),
        null(),
    ])
}

/// A CAR sort: `[{"field": "asc|desc"}]`, as a JSON array or a string holding one.
pub(crate) fn sort() -> Schema {
    let entry = || {
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .additional_properties(Some(schema(
                string().pattern(Some("^\\s*\\\\?([Aa][Ss][Cc]|[Dd][Ee][Ss][Cc])\\s*$")),
            )))
    };
    one_of([
        Schema::Array(ArrayBuilder::new().items(RefOr::T(schema(entry()))).build()),
        schema(entry()),
        schema(string().description(Some(
            "the array as JSON text, e.g. [{\"created.dateTime\":\"desc\"}]",
        ))),
        null(),
    ])
}

/// A CAR boolean, also as the strings `true`/`false`.
pub(crate) fn flag() -> Schema {
    one_of([
        schema(ObjectBuilder::new().schema_type(Type::Boolean)),
        schema(string().pattern(Some("^([Tt][Rr][Uu][Ee]|[Ff][Aa][Ll][Ss][Ee]|)$"))),
        null(),
    ])
}

/// A list of ids: numbers or numeric strings, or one comma-separated string.
pub(crate) fn id_list() -> Schema {
    let id = || {
        one_of([
            schema(integer()),
            schema(string().pattern(Some("^\\s*-?[0-9]{1,18}\\s*$"))),
        ])
    };
    one_of([
        Schema::Array(
            ArrayBuilder::new()
                .items(RefOr::T(id()))
                .max_items(Some(25))
                .build(),
        ),
        schema(string().pattern(Some(
            "^(\\s*-?[0-9]{1,18}\\s*)?(,\\s*-?[0-9]{1,18}\\s*){0,24},?\\s*$",
        ))),
        schema(integer()),
        null(),
    ])
}

pub(crate) fn test_mode() -> Schema {
    one_of([
        schema(
            ObjectBuilder::new()
                .schema_type(Type::Boolean)
                .enum_values(Some([false])),
        ),
        schema(string().pattern(Some("^[Ff][Aa][Ll][Ss][Ee]$"))),
        null(),
    ])
}
