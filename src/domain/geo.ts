// Great-circle distance between stations and a citizen, and parsing of the `?near=<lat>,<lng>` parameter.

export interface LatLng {
  latitude: number
  longitude: number
}

// IUGG mean Earth radius; the error against the ellipsoid (under 0.5%) is irrelevant for
// "which station is nearest" inside one city.
export const EARTH_RADIUS_METERS = 6371008.8

const toRadians = (degrees: number): number => degrees * Math.PI / 180

/** Haversine distance in whole metres. */
export function distanceMeters (a: LatLng, b: LatLng): number {
  const dLat = toRadians(b.latitude - a.latitude)
  const dLng = toRadians(b.longitude - a.longitude)
  const h = Math.sin(dLat / 2) ** 2 +
    Math.cos(toRadians(a.latitude)) * Math.cos(toRadians(b.latitude)) * Math.sin(dLng / 2) ** 2
  // Rounding can push h a hair above 1 for antipodal points, and asin(>1) is NaN.
  return Math.round(2 * EARTH_RADIUS_METERS * Math.asin(Math.min(1, Math.sqrt(h))))
}

// Plain decimals only: Number() alone would also take '', '0x1A', '1e2' and 'Infinity'.
const DECIMAL = String.raw`[+-]?(?:\d+(?:\.\d*)?|\.\d+)`
const LAT_LNG = new RegExp(String.raw`^\s*(${DECIMAL})\s*,\s*(${DECIMAL})\s*$`)

/** `"23.1064,113.3245"` to a point; null for anything else, including out-of-range values. */
export function parseLatLng (text: string): LatLng | null {
  const m = LAT_LNG.exec(text)
  if (m === null) return null
  const latitude = Number(m[1])
  const longitude = Number(m[2])
  if (Math.abs(latitude) > 90 || Math.abs(longitude) > 180) return null
  return { latitude, longitude }
}
