//! The USSD gateway's endpoint: a form in, a reply of at most 160 characters out, in Persian
//! by default and English on request.
//!
//! The gateway posts `application/x-www-form-urlencoded` fields: `msisdn` and `imsi` (the SIM
//! the session runs on, which the gateway knows), `session` (its session id, logged only),
//! `text` (what the user dialled) and optionally `national_id` (when the gateway knows the
//! SIM's owner) and `lang` (`fa`, the default, or `en`). The user dials
//! `*4444*IMEI#`, `*4444*IMEI*IMEI#` (up to four IMEIs) when the gateway sends the national
//! ID, or `*4444*NATIONAL-ID*IMEI#` otherwise.

use crate::decide::Reason;
use crate::receipt::{Decision, DeviceReceipt, MAX_IMEIS};
use crate::service::{AddDevice, InputError};

/// Longest reply, in characters.
pub const MAX_REPLY: usize = 160;

/// The reply language.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Lang {
    /// Persian (the default).
    #[default]
    Fa,
    /// English.
    En,
}

/// The gateway's form.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Form {
    /// The SIM's MSISDN.
    pub msisdn: Option<String>,
    /// The SIM's IMSI.
    pub imsi: Option<String>,
    /// The gateway's session id.
    pub session: Option<String>,
    /// What the user dialled.
    pub text: String,
    /// The owner's national ID, when the gateway knows it.
    pub national_id: Option<String>,
    /// Reply language.
    pub lang: Lang,
}

impl Form {
    /// Parses the urlencoded body.
    pub fn parse(body: &[u8]) -> Result<Self, InputError> {
        let mut form = Form::default();
        let mut text = None;
        for (k, v) in form_urlencoded::parse(body) {
            let v = v.trim().to_owned();
            if v.len() > 182 {
                return Err(InputError {
                    field: "text",
                    message: format!("{k} is too long"),
                });
            }
            match k.as_ref() {
                "msisdn" => form.msisdn = Some(v),
                "imsi" => form.imsi = Some(v),
                "session" => form.session = Some(v),
                "text" => text = Some(v),
                "national_id" => form.national_id = Some(v),
                "lang" => {
                    form.lang = match v.as_str() {
                        "en" => Lang::En,
                        "fa" | "" => Lang::Fa,
                        _ => {
                            return Err(InputError {
                                field: "lang",
                                message: "fa or en".into(),
                            });
                        }
                    }
                }
                _ => {}
            }
        }
        form.text = text.ok_or(InputError {
            field: "text",
            message: "missing".into(),
        })?;
        if form.msisdn.is_none() && form.imsi.is_none() {
            return Err(InputError {
                field: "msisdn",
                message: "give the SIM's msisdn or imsi".into(),
            });
        }
        Ok(form)
    }

    /// The add-device request the user dialled.
    pub fn request(&self) -> Result<AddDevice, InputError> {
        let code = self
            .text
            .strip_prefix('*')
            .and_then(|t| t.strip_suffix('#'))
            .ok_or_else(|| InputError {
                field: "text",
                message: "dial *4444*IMEI#".into(),
            })?;
        let mut parts = code.split('*');
        let _service = parts.next();
        let mut fields: Vec<String> = parts.map(str::to_owned).collect();
        let national_id = match &self.national_id {
            Some(id) => id.clone(),
            None if fields.len() >= 2 => fields.remove(0),
            None => {
                return Err(InputError {
                    field: "national_id",
                    message: "dial *4444*NATIONAL-ID*IMEI#".into(),
                });
            }
        };
        if fields.is_empty() || fields.len() > MAX_IMEIS {
            return Err(InputError {
                field: "imeis",
                message: format!("give 1 to {MAX_IMEIS} IMEIs"),
            });
        }
        Ok(AddDevice {
            national_id,
            imeis: fields,
            imsi: self.imsi.clone(),
            msisdn: self.msisdn.clone(),
        })
    }
}

fn reason_text(reason: Option<Reason>, lang: Lang) -> &'static str {
    match (reason, lang) {
        (Some(Reason::InvalidImei), Lang::Fa) => "شماره IMEI نادرست است",
        (Some(Reason::NotSeenBeforeCutoff), Lang::Fa) => {
            "گوشی پیش از آغاز طرح رجیستری در شبکه دیده نشده است"
        }
        (Some(Reason::SeenWithOtherSim), Lang::Fa) => {
            "گوشی با سیم‌کارت دیگری دیده شده است؛ با همان سیم‌کارت درخواست دهید"
        }
        (Some(Reason::RegisteredToAnotherOwner), Lang::Fa) => "گوشی به نام شخص دیگری ثبت شده است",
        (Some(Reason::Blocklisted), Lang::Fa) => "گوشی در فهرست مسدود است",
        (Some(Reason::OwnerLimit), Lang::Fa) => "سقف تعداد گوشی‌های شما پر است",
        (_, Lang::Fa) => "درخواست رد شد",
        (Some(Reason::InvalidImei), Lang::En) => "invalid IMEI",
        (Some(Reason::NotSeenBeforeCutoff), Lang::En) => {
            "not seen on a network before the registry started"
        }
        (Some(Reason::SeenWithOtherSim), Lang::En) => "seen with another SIM; use that SIM",
        (Some(Reason::RegisteredToAnotherOwner), Lang::En) => "registered to another owner",
        (Some(Reason::Blocklisted), Lang::En) => "on the blocklist",
        (Some(Reason::OwnerLimit), Lang::En) => "you have reached your device limit",
        (_, Lang::En) => "refused",
    }
}

/// Cuts `s` to [`MAX_REPLY`] characters.
fn bounded(s: String) -> String {
    if s.chars().count() <= MAX_REPLY {
        return s;
    }
    s.chars()
        .take(MAX_REPLY - 1)
        .chain(std::iter::once('…'))
        .collect()
}

/// The reply for a decision.
pub fn reply(receipt: &DeviceReceipt, lang: Lang) -> String {
    let code = &receipt.tracking_code;
    let text = match (receipt.decision, lang) {
        (Decision::Approved, Lang::Fa) => format!("گوشی شما ثبت شد. کد رهگیری: {code}"),
        (Decision::Approved, Lang::En) => {
            format!("Your phone is registered. Tracking code: {code}")
        }
        (Decision::Refused, _) => {
            let first = receipt
                .reasons
                .first()
                .and_then(|r| Reason::from_code(&r.code));
            match lang {
                Lang::Fa => format!("رد شد: {}. کد رهگیری: {code}", reason_text(first, lang)),
                Lang::En => format!(
                    "Refused: {}. Tracking code: {code}",
                    reason_text(first, lang)
                ),
            }
        }
    };
    bounded(text)
}

/// The reply for a malformed request.
pub fn input_error(e: &InputError, lang: Lang) -> String {
    bounded(match (e.field, lang) {
        ("national_id", Lang::Fa) => {
            "کد ملی نادرست است. *4444*کدملی*IMEI# را شماره‌گیری کنید".to_owned()
        }
        ("imeis", Lang::Fa) => "شماره IMEI را وارد کنید: *4444*IMEI#".to_owned(),
        (_, Lang::Fa) => "درخواست نادرست است. *4444*IMEI# را شماره‌گیری کنید".to_owned(),
        (field, Lang::En) => format!("Invalid {field}: {}. Dial *4444*IMEI#", e.message),
    })
}

/// The reply when the registry cannot answer now.
pub fn try_later(lang: Lang) -> String {
    match lang {
        Lang::Fa => "سامانه در دسترس نیست؛ کمی بعد دوباره تلاش کنید".to_owned(),
        Lang::En => "The service is unavailable; try again later".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn forms_become_requests() {
        let form = Form::parse(b"msisdn=989121234567&imsi=432111234567890&session=s1&text=*4444*0012345679*490154203237518%23").unwrap();
        let req = form.request().unwrap();
        assert_eq!(req.national_id, "0012345679");
        assert_eq!(req.imeis, vec!["490154203237518".to_owned()]);
        assert_eq!(form.lang, Lang::Fa);
        let form =
            Form::parse(b"msisdn=989121234567&national_id=0012345679&text=*4444*1*2%23&lang=en")
                .unwrap();
        let req = form.request().unwrap();
        assert_eq!(req.imeis, vec!["1".to_owned(), "2".to_owned()]);
        assert_eq!(form.lang, Lang::En);
        assert_eq!(Form::parse(b"msisdn=1").unwrap_err().field, "text");
        assert_eq!(Form::parse(b"text=*4444*1%23").unwrap_err().field, "msisdn");
        assert_eq!(
            Form::parse(b"msisdn=1&text=4444")
                .unwrap()
                .request()
                .unwrap_err()
                .field,
            "text"
        );
        assert_eq!(
            Form::parse(b"msisdn=1&text=*4444*1%23")
                .unwrap()
                .request()
                .unwrap_err()
                .field,
            "national_id"
        );
    }

    #[test]
    fn every_reply_fits_160_characters() {
        for lang in [Lang::Fa, Lang::En] {
            for reason in Reason::ALL {
                let text = format!(
                    "{}. Tracking code: 1234567890 ............",
                    reason_text(Some(reason), lang)
                );
                assert!(bounded(text).chars().count() <= MAX_REPLY);
                assert!(reason_text(Some(reason), lang).chars().count() + 40 <= MAX_REPLY);
            }
            assert!(try_later(lang).chars().count() <= MAX_REPLY);
        }
        assert_eq!(bounded("x".repeat(500)).chars().count(), MAX_REPLY);
    }
}
