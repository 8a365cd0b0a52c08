using PhoneNumbers;
using ZapHub.Platform;

namespace ZapHub.Features.Sessions;

/// <summary>Brazilian numbers typed any common way → E.164, including mobiles from before the ninth digit.</summary>
public static class PhoneNumberRules
{
    private static readonly PhoneNumberUtil Util = PhoneNumberUtil.GetInstance();

    public static string ToE164(string? input, string field = "to")
    {
        if (string.IsNullOrWhiteSpace(input) || input.Length > 40)
            throw ProblemException.Invalid(field, "phone_invalid", "Type a phone number, e.g. (11) 99999-0001 or +55 11 99999-0001.");
        PhoneNumber number;
        try { number = Util.Parse(input, "BR"); }
        catch (NumberParseException)
        {
            throw ProblemException.Invalid(field, "phone_invalid", $"'{input}' is not a phone number.");
        }
        if (!Util.IsValidNumber(number) && number.CountryCode == 55)
        {
            // An old 8-digit mobile (subscriber starting 6–9): WhatsApp knows it with the 9 in front.
            var national = Util.GetNationalSignificantNumber(number);
            if (national.Length == 10 && national[2] is >= '6' and <= '9')
            {
                var fixedNumber = Util.Parse(national[..2] + "9" + national[2..], "BR");
                if (Util.IsValidNumber(fixedNumber)) number = fixedNumber;
            }
        }
        if (!Util.IsValidNumber(number))
            throw ProblemException.Invalid(field, "phone_invalid", $"'{input}' is not a valid phone number.");
        return Util.Format(number, PhoneNumberFormat.E164);
    }

    public static string Digits(string e164) => e164.TrimStart('+');

    /// <summary>
    /// A number as people write it: Brazilian ones in the national format, "(11) 98702-1371"; others internationally,
    /// "+1 415-555-0123". Anything that is not a phone number (a group's id) stays as it is.
    /// </summary>
    public static string ForPeople(string? e164)
    {
        if (string.IsNullOrEmpty(e164) || !e164.StartsWith('+')) return e164 ?? "";
        try
        {
            var number = Util.Parse(e164, "BR");
            if (!Util.IsValidNumber(number)) return e164;
            return Util.Format(number, number.CountryCode == 55 ? PhoneNumberFormat.NATIONAL : PhoneNumberFormat.INTERNATIONAL);
        }
        catch (NumberParseException) { return e164; }
    }
}
