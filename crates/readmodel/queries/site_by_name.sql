-- One site and how many visible resources it has.
SELECT site, resources FROM site_counts WHERE site = $1
