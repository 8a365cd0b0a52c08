using ZapHub.Data;

namespace ZapHub.UnitTests;

/// <summary>The one group-commit primitive: grouping, splitting a failed group, and back-pressure.</summary>
public class GroupCommitTests
{
    [Fact]
    public async Task CallersQueuedDuringACommitShareTheNextOne()
    {
        var groups = new List<int>();
        var gate = new TaskCompletionSource();
        var commit = new GroupCommit<int, int>(100, async (steps, _) =>
        {
            groups.Add(steps.Count);
            if (groups.Count == 1) await gate.Task;
            return [.. steps.Select(s => s * 2)];
        });
        using var stop = new CancellationTokenSource();
        var writer = commit.RunAsync(null, stop.Token);
        var first = commit.SubmitAsync(1);
        while (groups.Count == 0) await Task.Delay(1);
        var rest = Enumerable.Range(2, 10).Select(i => commit.SubmitAsync(i)).ToList();
        gate.SetResult();
        Assert.Equal(2, await first);
        Assert.Equal(Enumerable.Range(2, 10).Select(i => i * 2), await Task.WhenAll(rest));
        Assert.Equal(new[] { 1, 10 }, groups);
        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => writer);
    }

    [Fact]
    public async Task ARowsOwnProblemFailsThatRowAloneWhenTheGroupIsSplit()
    {
        var commit = new GroupCommit<int, int>(100, (steps, _) =>
            steps.Contains(13) ? throw new ArgumentException("13 is refused") : Task.FromResult(steps.ToArray()),
            splitWhen: ex => ex is ArgumentException);
        using var stop = new CancellationTokenSource();
        var writer = commit.RunAsync(null, stop.Token);
        var all = Enumerable.Range(10, 5).Select(i => commit.SubmitAsync(i)).ToList();
        await Assert.ThrowsAsync<ArgumentException>(() => all[3]);
        Assert.Equal(new[] { 10, 11, 12, 14 }, await Task.WhenAll(all.Where((_, i) => i != 3)));
        await stop.CancelAsync();
    }

    [Fact]
    public async Task WhenTheDatabaseIsAwayEveryStepGetsTheFailureWithoutRetryingEachOne()
    {
        var calls = 0;
        var commit = new GroupCommit<int, int>(100, (steps, _) =>
        {
            calls++;
            throw new TimeoutException("database away");
        }, splitWhen: ex => ex is not TimeoutException);
        var all = Enumerable.Range(0, 5).Select(i => commit.SubmitAsync(i)).ToList();
        using var stop = new CancellationTokenSource();
        var writer = commit.RunAsync(null, stop.Token);
        foreach (var step in all) await Assert.ThrowsAsync<TimeoutException>(() => step);
        Assert.Equal(1, calls);
        await stop.CancelAsync();
    }

    [Fact]
    public async Task ABoundedQueueMakesCallersWaitForRoom()
    {
        var commit = new GroupCommit<int, int>(10, (steps, _) => Task.FromResult(steps.ToArray()), capacity: 2);
        var a = commit.SubmitAsync(1);
        var b = commit.SubmitAsync(2);
        var c = commit.SubmitAsync(3);
        await Task.Delay(50);
        Assert.False(c.IsCompleted, "the third waits for room while nothing commits");
        using var stop = new CancellationTokenSource();
        var writer = commit.RunAsync(null, stop.Token);
        Assert.Equal(new[] { 1, 2, 3 }, await Task.WhenAll(a, b, c));
        await stop.CancelAsync();
    }

    [Fact]
    public async Task StepsLeftWhenTheWriterStopsAreCanceledNotLeftWaiting()
    {
        var commit = new GroupCommit<int, int>(10, (steps, ct) => Task.Delay(Timeout.Infinite, ct).ContinueWith(_ => steps.ToArray(), ct));
        using var stop = new CancellationTokenSource();
        var writer = commit.RunAsync(null, stop.Token);
        var first = commit.SubmitAsync(1);
        await Task.Delay(20);
        var second = commit.SubmitAsync(2);
        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => writer);
        await Assert.ThrowsAnyAsync<Exception>(() => second);
        await Assert.ThrowsAnyAsync<Exception>(() => first);
    }
}
