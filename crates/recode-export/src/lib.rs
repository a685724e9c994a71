pub use recode_data as _data;
