using Outbox.Bench;

// The Outbox benchmark harness: prints figures, asserts nothing. Run it through bench/run.sh,
// which provides the PostgreSQL cluster and the smtp-sink it measures against.
var options = BenchOptions.Parse(args);
var report = new Report();
Console.WriteLine($"# Outbox benchmark, {Environment.ProcessorCount} cores, {options.Runs} runs per figure (medians){(options.Quick ? ", quick" : string.Empty)}");

if (options.Includes("dispatch"))
{
    await DispatchScenario.RunAsync(options, report);
}

if (options.Includes("reuse"))
{
    await ReuseScenario.RunAsync(options, report);
}

if (options.Includes("latency"))
{
    await LatencyScenario.RunAsync(options, report);
}

if (options.Includes("claim"))
{
    await ClaimCostScenario.RunAsync(options, report);
}

if (options.Includes("memory"))
{
    await MemoryScenario.RunAsync(options, report);
}

if (options.Includes("hostile"))
{
    await HostileReplyScenario.RunAsync(options, report);
}

if (options.Includes("enqueue"))
{
    await EnqueueScenario.RunAsync(options, report);
}


report.Print();
