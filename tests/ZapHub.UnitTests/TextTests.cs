using System.Globalization;
using System.Text.RegularExpressions;
using ZapHub.Components;
using ZapHub.Platform;

namespace ZapHub.UnitTests;

/// <summary>
/// Both languages say everything, and every note ZapHub stores for people to read later (a timeline line) renders in
/// both, with all its values and no English left in the Portuguese.
/// </summary>
public partial class TextTests
{
    /// <summary>Failures are the exception: English shows the service's own sentence, so only Portuguese needs them all.</summary>
    [Fact]
    public void EveryKeyExistsInBothLanguages()
    {
        var pt = Text.Keys(english: false).ToHashSet();
        var en = Text.Keys(english: true).ToHashSet();
        Assert.Empty(pt.Except(en).Where(k => !k.StartsWith("error.")).Order());
        Assert.Empty(en.Except(pt).Order());
    }

    /// <summary>Every failure code the source raises reads in Portuguese on the dashboard.</summary>
    [Fact]
    public void EveryFailureTheSourceRaisesHasAPortugueseText()
    {
        var source = Path.Combine(Root(), "src", "ZapHub");
        var codes = Directory.EnumerateFiles(source, "*.cs", SearchOption.AllDirectories)
            .SelectMany(f => ProblemCode().Matches(File.ReadAllText(f)).Select(m => m.Groups["code"].Value)).ToHashSet();
        Assert.True(codes.Count > 50, $"only {codes.Count} codes found");
        Assert.Empty(codes.Where(c => !Text.Keys(english: false).Contains("error." + c)).Order());
    }

    [GeneratedRegex(@"ProblemException\.(?:(?:Conflict|Forbidden)\(\s*|Invalid\(\s*[^,]+,\s*)""(?<code>[a-z_]+)""")]
    private static partial Regex ProblemCode();

    /// <summary>Codes the pages show by looking up a prefix (a state, a reason, a scope...) all have a text: none leaks raw.</summary>
    [Fact]
    public void EveryCodeThePagesTranslateHasATextInBothLanguages()
    {
        static IEnumerable<string> Consts(Type type) =>
            type.GetFields(System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Static).Where(f => f.IsLiteral).Select(f => (string)f.GetRawConstantValue()!);
        var failures = Enum.GetValues<ZapHub.Gateways.GatewayFailure>().Select(f => ZapHub.Gateways.GatewayFailureOutcome.Of(new ZapHub.Gateways.GatewayException(f, "x"))).ToList();
        var expected = Consts(typeof(ZapHub.Gateways.SessionReasons)).Select(c => "reason." + c)
            .Concat(Consts(typeof(ZapHub.Features.Sessions.Causes)).Select(c => "cause." + c))
            .Concat(Consts(typeof(ZapHub.Features.Messages.Governor.Reasons)).Select(c => "mreason." + c))
            .Concat(ZapHub.Features.PlatformKeys.PlatformScopes.All.Select(c => "scope." + c))
            .Concat(Enum.GetNames<ZapHub.Gateways.SessionState>().Select(c => "state." + c))
            .Concat(Enum.GetNames<ZapHub.Features.Messages.MessageStatus>().Select(c => "mstatus." + c))
            .Concat(Enum.GetNames<ZapHub.Features.Tenancy.TenantRole>().Select(c => "role." + c))
            .Concat(failures.Select(f => "error." + f.ProblemCode))
            .Concat(failures.Select(f => "mcat." + f.SendCategory))
            .ToHashSet();
        foreach (var english in new[] { false, true })
            Assert.Empty(expected.Where(k => !Text.Keys(english).Contains(k)).Order());
    }

    /// <summary>Every action the source audits has a label in both languages.</summary>
    [Fact]
    public void EveryAuditedActionHasALabelInBothLanguages()
    {
        var source = Path.Combine(Root(), "src", "ZapHub");
        var actions = Directory.EnumerateFiles(source, "*.cs", SearchOption.AllDirectories)
            .SelectMany(f => File.ReadLines(f).Where(l => l.Contains("audit.Add(") || l.Contains("ChangeAsync(actor") || l.Contains("EndAsync(actor")))
            .SelectMany(l => AuditAction().Matches(l).Select(m => m.Groups[1].Value)).ToHashSet();
        Assert.Contains("session.logout", actions);
        foreach (var english in new[] { false, true })
            Assert.Empty(actions.Where(a => !Text.Keys(english).Contains("action." + a)).Order());
    }

    [GeneratedRegex(@"""((?:apikey|contact|gateway|media|member|message|messaging|session|template|tenant|user|webhook)\.[a-z_]+)""")]
    private static partial Regex AuditAction();

    /// <summary>Every code the source stores with Note.Of(...) has its sentence in both languages.</summary>
    [Fact]
    public void EveryStoredNoteCodeHasASentenceInBothLanguages()
    {
        var source = Path.Combine(Root(), "src", "ZapHub");
        var codes = Directory.EnumerateFiles(source, "*.cs", SearchOption.AllDirectories)
            .SelectMany(f => NoteOf().Matches(File.ReadAllText(f)).Select(m => m.Groups[1].Value)).ToHashSet();
        Assert.NotEmpty(codes);
        foreach (var english in new[] { false, true })
            Assert.Empty(codes.Where(c => !Text.Keys(english).Contains("note." + c)).Order());
    }

    public static TheoryData<string> NoteCodes => [.. Text.Keys(english: true).Where(k => k.StartsWith("note.")).Select(k => k["note.".Length..])];

    [Theory]
    [MemberData(nameof(NoteCodes))]
    public void EachNoteRendersInBothLanguagesWithItsValues(string code)
    {
        var note = Note.Of(code, ("attempt", 2), ("number", "Recepção"), ("ms", 13), ("reason", "socket hang up"), ("category", Note.Key("mcat.gateway_unavailable")),
            ("minutes", 60), ("retryAt", "10:15:00"), ("why", Note.Key("mwhy.session_disconnected")), ("until", Note.Local(new DateTime(2026, 12, 3, 8, 0, 0))),
            ("at", new DateTime(2026, 12, 3, 11, 0, 0, DateTimeKind.Utc)), ("node", "node-1"), ("actor", "Zé"), ("raw", "DELIVERY_ACK"),
            ("problem", Note.Key("error.gateway_unavailable")), ("message", "The gateway could not be reached"), ("seconds", 120), ("drops", 5),
            ("name", "Barbearia"), ("url", "https://hooks.example"), ("capacity", 50), ("state", Note.Key("common.enabled")), ("detail", "ok"), ("delivery", 7), ("count", 3),
            ("since", new DateTime(2026, 12, 1, 0, 0, 0, DateTimeKind.Utc)), ("slug", "barbearia"), ("owner", "ze@b.test"), ("zone", "America/Sao_Paulo"), ("locale", "pt-BR"),
            ("max", 10), ("gap", 4000), ("jitter", 3000), ("from", "22:00"), ("failover", Note.Key("common.yes")), ("inDoubt", Note.Key("indoubt.Hold")), ("peer", "+5511988887777"),
            ("email", "ana@b.test"), ("role", Note.Key("role.Member")), ("to", Note.Key("role.Admin")), ("gateway", "Servidor 1"), ("phone", "+5511988887777"),
            ("limit", Note.Key("word.unlimited"))).Store();
        var english = Text.English(note);
        CultureInfo.CurrentUICulture = new CultureInfo("pt-BR");
        var portuguese = new Text().Note(note);
        foreach (var text in new[] { english, portuguese })
        {
            Assert.NotEmpty(text);
            Assert.DoesNotContain("{", text);
            Assert.DoesNotMatch(@"(^|[\s(])@[a-z]", text);
            Assert.DoesNotMatch(@"\b[tl]:\d", text);
        }
        Assert.DoesNotMatch(EnglishWords(), portuguese);
    }

    [Fact]
    public void SomeonesTextThatLooksLikeAMarkerIsShownAsTyped()
    {
        var note = Note.Of("received", ("number", "@barbearia")).Store();
        Assert.Equal("received on @barbearia", Text.English(note));
        Assert.Equal("received on t:22", Text.English(Note.Of("received", ("number", "t:22")).Store()));
    }

    [Fact]
    public void AFailureWithANoteReadsInPortugueseWhileTheApiKeepsEnglish()
    {
        var why = Note.Of("address_refused", ("address", "127.0.0.1"), ("why", Note.Key("why.loopback")));
        var problem = new ProblemException(400, "url_refused", Text.English(why.Store()), "url") { Note = why };
        CultureInfo.CurrentUICulture = new CultureInfo("pt-BR");
        Assert.Equal("Este endereço não pode receber webhooks: 127.0.0.1 é um endereço desta própria máquina (loopback); webhooks não podem ser enviados para lá.",
            new Text().Error(problem));
        Assert.Equal("127.0.0.1 is a loopback address; webhooks may not be sent there.", problem.Message);
    }

    [Fact]
    public void TextStoredBeforeNotesIsShownAsItIs() =>
        Assert.Equal("accepted", new Text().Note("accepted"));

    [Fact]
    public void TheStringsAreAnIStringLocalizerThatReportsWhatItDoesNotHave()
    {
        Microsoft.Extensions.Localization.IStringLocalizer localizer = new Text();
        var culture = CultureInfo.CurrentUICulture;
        try
        {
            CultureInfo.CurrentUICulture = new CultureInfo("en");
            Assert.Equal("Sign in to ZapHub", localizer["login.title"].Value);
            Assert.False(localizer["login.title"].ResourceNotFound);
            var missing = localizer["no.such.text"];
            Assert.True(missing.ResourceNotFound);
            Assert.Contains("en:no.such.text", Text.MissingKeys);
            Assert.Equal(Text.Keys(english: true).Count, localizer.GetAllStrings(true).Count());
        }
        finally { CultureInfo.CurrentUICulture = culture; }
    }

    [Fact]
    public void ATimeIsTypedInTheReadersOrderAndAnythingElseIsRefused()
    {
        var culture = CultureInfo.CurrentUICulture;
        try
        {
            CultureInfo.CurrentUICulture = new CultureInfo("pt-BR");
            Assert.Equal(new DateTime(2026, 12, 3, 9, 30, 0), new Text().LocalTime(" 03/12/2026 09:30 "));
            Assert.Equal(new DateTime(2026, 12, 3), new Text().LocalTime("3/12/2026"));
            Assert.Null(new Text().LocalTime("2026-12-03 09:30"));
            Assert.Null(new Text().LocalTime("31/02/2026 09:30"));
            CultureInfo.CurrentUICulture = new CultureInfo("en");
            Assert.Equal(new DateTime(2026, 12, 3, 9, 30, 0), new Text().LocalTime("2026-12-03 09:30"));
            Assert.Null(new Text().LocalTime("12/03/2026 09:30"));
        }
        finally { CultureInfo.CurrentUICulture = culture; }
    }

    [GeneratedRegex(@"Note\.Of\(""([a-z_]+)""")]
    private static partial Regex NoteOf();

    [GeneratedRegex(@"\b(the|attempt|waiting|held|accepted|moved|receipt|received|sent|via|until|number)\b")]
    private static partial Regex EnglishWords();

    private static string Root()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "ZapHub.sln"))) dir = dir.Parent;
        return dir!.FullName;
    }
}
