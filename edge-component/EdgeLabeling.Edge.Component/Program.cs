using EdgeLabeling.Edge.Hosting;

// The Greengrass Run lifecycle starts this with --Key value options; see edge-component/greengrass/.
return await EdgeComponentHost.RunAsync(args);
