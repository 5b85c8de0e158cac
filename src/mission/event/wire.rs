//! Reading a log line in one pass. The derived `EventRecord` parser (a flattened,
//! internally tagged enum) must buffer every field before it knows the variant, which was
//! most of a long replay's time. The log always writes `seq`, `ts`, then `type` first, so
//! once the tag is read the rest of the object can go straight to that variant's fields.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, EnumAccess, MapAccess, VariantAccess};
use serde::{Deserialize, forward_to_deserialize_any};

use super::{Event, EventByName, EventRecord};

/// Reads an `EventRecord` whose `seq` and `ts` (in either order), then `type`, come
/// before the event's fields, as the log writes them. Any other layout is an error;
/// a caller that must accept hand-edited lines falls back to `EventRecord`'s derived
/// `Deserialize`, which takes any order.
pub fn read_tag_first<'de, D: Deserializer<'de>>(d: D) -> Result<EventRecord, D::Error> {
    d.deserialize_map(RecordVisitor)
}

#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "lowercase")]
enum Key {
    Seq,
    Ts,
    Type,
    #[serde(other)]
    Other,
}

struct RecordVisitor;

impl<'de> de::Visitor<'de> for RecordVisitor {
    type Value = EventRecord;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an event record with seq, ts and type first")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<EventRecord, A::Error> {
        let (mut seq, mut ts) = (None, None);
        loop {
            match map.next_key::<Key>()? {
                Some(Key::Seq) => seq = Some(map.next_value()?),
                Some(Key::Ts) => ts = Some(map.next_value()?),
                Some(Key::Type) => break,
                Some(Key::Other) => return Err(de::Error::custom("a field before `type`")),
                None => return Err(de::Error::missing_field("type")),
            }
        }
        let seq = seq.ok_or_else(|| de::Error::missing_field("seq"))?;
        let ts = ts.ok_or_else(|| de::Error::missing_field("ts"))?;
        let event: Event = EventByName::deserialize(RestOfMap(&mut map))?;
        // A unit variant reads nothing more; a struct variant has read to the end.
        while map
            .next_entry::<de::IgnoredAny, de::IgnoredAny>()?
            .is_some()
        {}
        Ok(EventRecord { seq, ts, event })
    }
}

/// The rest of a map whose next value is the variant's name, presented as an externally
/// tagged enum: the name, then the remaining entries as the variant's fields.
struct RestOfMap<'a, A>(&'a mut A);

impl<'de, A: MapAccess<'de>> Deserializer<'de> for RestOfMap<'_, A> {
    type Error = A::Error;

    fn deserialize_any<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value, A::Error> {
        visitor.visit_enum(self)
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes
        byte_buf option unit unit_struct newtype_struct seq tuple tuple_struct map struct
        enum identifier ignored_any
    }
}

impl<'de, A: MapAccess<'de>> EnumAccess<'de> for RestOfMap<'_, A> {
    type Error = A::Error;
    type Variant = Self;

    fn variant_seed<V: DeserializeSeed<'de>>(self, seed: V) -> Result<(V::Value, Self), A::Error> {
        let name = self.0.next_value_seed(seed)?;
        Ok((name, self))
    }
}

impl<'de, A: MapAccess<'de>> VariantAccess<'de> for RestOfMap<'_, A> {
    type Error = A::Error;

    fn unit_variant(self) -> Result<(), A::Error> {
        Ok(())
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, _: T) -> Result<T::Value, A::Error> {
        Err(de::Error::custom("events have no newtype variants"))
    }

    fn tuple_variant<V: de::Visitor<'de>>(self, _: usize, _: V) -> Result<V::Value, A::Error> {
        Err(de::Error::custom("events have no tuple variants"))
    }

    fn struct_variant<V: de::Visitor<'de>>(
        self,
        _: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, A::Error> {
        visitor.visit_map(self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(line: &str) -> serde_json::Result<EventRecord> {
        let mut de = serde_json::Deserializer::from_str(line);
        let rec = read_tag_first(&mut de)?;
        de.end()?;
        Ok(rec)
    }

    /// Every kind of event the synthetic missions hold (unit and struct variants, optional
    /// and defaulted fields, nested plans and reports) reads back equal to what the derived
    /// parser reads.
    #[test]
    fn reads_what_the_log_writes_exactly_as_the_derived_parser_does() {
        let mut events = crate::mission::synthetic::synthetic_log(12);
        events.push(Event::Unpaused);
        events.push(Event::FilesChanged {
            paths: vec!["a".into()],
            more: 0,
        });
        for rec in crate::mission::synthetic::records(events) {
            let line = serde_json::to_string(&rec).unwrap();
            assert_eq!(read(&line).unwrap(), rec, "{line}");
            assert_eq!(serde_json::from_str::<EventRecord>(&line).unwrap(), rec);
        }
    }

    #[test]
    fn refuses_what_it_cannot_read_in_one_pass() {
        let ts = r#""ts":"2026-01-01T00:00:00Z""#;
        // The tag among the fields: the caller's fallback reads it.
        assert!(
            read(&format!(
                r#"{{"seq":1,{ts},"text":"hi","type":"message_said"}}"#
            ))
            .is_err()
        );
        assert!(read(r#"{"seq":1,"type":"message_said","text":"hi"}"#).is_err());
        assert!(read(&format!(r#"{{"seq":1,{ts},"type":"no_such_event"}}"#)).is_err());
        assert!(read(&format!(r#"{{"seq":1,{ts},"type":"message_said"}}"#)).is_err());
        // `seq` and `ts` in either order; unknown fields after the tag are ignored.
        let rec = read(&format!(
            r#"{{{ts},"seq":7,"type":"unpaused","extra":[1]}}"#
        ))
        .unwrap();
        assert_eq!((rec.seq, rec.event), (7, Event::Unpaused));
    }
}
