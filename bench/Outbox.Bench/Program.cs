using Outbox.Bench;

// The Outbox benchmark harness: prints figures, asserts nothing. Run it through bench/run.sh,
// which provides the PostgreSQL cluster and the smtp-sink it measures against.
var options = BenchOptions.Parse(args);
var report = new Report();
Console.WriteLine($"# Outbox benchmark, {Environment.ProcessorCount} cores, {options.Runs} runs per figure (medians){(options.Quick ? ", quick" : string.Empty)}");

await DispatchScenario.RunAsync(options, report);
await ReuseScenario.RunAsync(options, report);
await LatencyScenario.RunAsync(options, report);
await ClaimCostScenario.RunAsync(options, report);
await MemoryScenario.RunAsync(options, report);
await EnqueueScenario.RunAsync(options, report);

report.Print();
