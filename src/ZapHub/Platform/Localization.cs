using System.Globalization;
using Microsoft.AspNetCore.Localization;

namespace ZapHub.Platform;

public static class Localization
{
    public const string Default = "pt-BR";
    public static readonly string[] Cultures = [Default, "en"];

    public static IApplicationBuilder UseZapHubLocalization(this IApplicationBuilder app) =>
        app.UseRequestLocalization(o =>
        {
            o.SetDefaultCulture(Default).AddSupportedCultures(Cultures).AddSupportedUICultures(Cultures);
            // The choice in the cookie wins; otherwise Brazilian Portuguese, whatever the browser says,
            // because most owners use phones set up in Portuguese and the operator expects the same default.
            // A connect link's page names its language in its circuit's address (?culture=): it needs no cookie,
            // which a page framed by another site might not get.
            o.RequestCultureProviders = [new QueryStringRequestCultureProvider(), new CookieRequestCultureProvider()];
        });

    public static bool IsEnglish => CultureInfo.CurrentUICulture.TwoLetterISOLanguageName == "en";
}
