"""Digital-help points: the public directory of where to find a mediator, kept by staff."""
